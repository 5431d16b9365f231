//! Where CloudTrail puts its logs, and which of them a scan wants: `--since`, `--until`,
//! `--account` and `--trail-region` decide from a path alone, before anything below it is
//! listed or read.
//!
//! A trail delivers to `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/` files
//! named `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`; digests go beside, under
//! `CloudTrail-Digest/`, and Insights events under `CloudTrail-Insight/` (see "Finding your
//! CloudTrail log files" in the CloudTrail user guide). A path without that layout is never
//! pruned: only what the layout states is relied on.
//!
//! The dates select delivery days: a log of the last minutes of a day may be delivered under
//! the next one, so `--until` keeps the day after too. Events are not filtered by time.

use std::fmt;

/// A UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Day {
    /// `YYYY-MM-DD`, or an RFC 3339 date-time (`2024-05-01T10:00:00Z`, `...+02:00`), whose
    /// UTC day is taken.
    pub fn parse(s: &str) -> Result<Day, String> {
        let bad = || {
            format!(
                "`{}` is not a date: expected YYYY-MM-DD or an RFC 3339 time such as 2024-05-01T10:00:00Z",
                s.escape_debug()
            )
        };
        let date = s.get(..10).ok_or_else(bad)?;
        let num = |t: &str| -> Option<u32> {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let b = date.as_bytes();
        if b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let (year, month, day) = (
            num(&date[..4]).ok_or_else(bad)?,
            num(&date[5..7]).ok_or_else(bad)?,
            num(&date[8..10]).ok_or_else(bad)?,
        );
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        let local = Day { year, month, day };
        let rest = &s[10..];
        if rest.is_empty() {
            return Ok(local);
        }
        // THH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
        let time = rest
            .strip_prefix('T')
            .or_else(|| rest.strip_prefix('t'))
            .ok_or_else(bad)?;
        let hm = |t: &str| -> Option<i64> {
            let (h, m) = t.split_once(':')?;
            (h.len() == 2 && m.len() == 2).then_some(())?;
            let (h, m) = (num(h)?, num(m)?);
            (h < 24 && m < 60).then_some(i64::from(h * 60 + m))
        };
        let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else {
            let at = time.rfind(['+', '-']).ok_or_else(bad)?;
            let minutes = hm(&time[at + 1..]).ok_or_else(bad)?;
            let sign = if time.as_bytes()[at] == b'-' { -1 } else { 1 };
            (&time[..at], sign * minutes)
        };
        let whole = clock.split_once('.').map_or(clock, |(w, frac)| {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                ""
            } else {
                w
            }
        });
        let (hh_mm, ss) = whole.rsplit_once(':').ok_or_else(bad)?;
        let minutes = hm(hh_mm).ok_or_else(bad)?;
        if ss.len() != 2 || num(ss).is_none_or(|s| s > 60) {
            return Err(bad());
        }
        let utc = days_from_civil(local) * 1440 + minutes - offset;
        Ok(civil_from_days(utc.div_euclid(1440)))
    }

    fn next(self) -> Day {
        civil_from_days(days_from_civil(self) + 1)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(d: Day) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> Day {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    Day { year, month, day }
}

/// Which logs a scan wants. Empty lists and absent dates select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailFilter {
    pub since: Option<Day>,
    pub until: Option<Day>,
    /// 12-digit account ids.
    pub accounts: Vec<String>,
    /// Regions the trail logged (`us-east-1`).
    pub regions: Vec<String>,
}

/// What to do with a directory (an S3 common prefix, a local folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing under it is wanted.
    Prune,
    /// Not a log folder: `reason` says what it holds (digests, Insights events).
    Skip(&'static str),
    /// Some of it may be wanted: look at each child.
    Descend,
    /// Everything under it is wanted as far as the filter goes (a flat listing may be used).
    TakeAll,
}

/// Where a path is in the layout.
struct Place<'a> {
    account: &'a str,
    /// The components after the account: service, region, year, month, day.
    below: &'a [&'a str],
}

fn place<'a>(components: &'a [&'a str]) -> Option<Place<'a>> {
    let at = components.iter().position(|c| *c == "AWSLogs")?;
    let mut rest = &components[at + 1..];
    if rest.first().is_some_and(|c| c.starts_with("o-")) {
        rest = &rest[1..];
    }
    let (account, below) = rest.split_first()?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some(Place { account, below })
}

const DIGESTS: &str = "CloudTrail digest files";
const OTHER_LOGS: &str = "not CloudTrail event logs (another folder of the account's AWSLogs)";

impl TrailFilter {
    pub fn is_empty(&self) -> bool {
        *self == TrailFilter::default()
    }

    /// Whether a log delivered on `day` may hold events of the selected days.
    fn dates(&self, first: Day, last: Day) -> (bool, bool) {
        // A log of the last minutes of `until` may be delivered the day after.
        let until = self.until.map(Day::next);
        let overlaps = self.since.is_none_or(|s| last >= s) && until.is_none_or(|u| first <= u);
        let inside = self.since.is_none_or(|s| first >= s) && until.is_none_or(|u| last <= u);
        (overlaps, inside)
    }

    /// The verdict on a directory, given the components of its path (`AWSLogs`, the account,
    /// ... as far as it goes).
    pub fn directory(&self, components: &[&str]) -> Verdict {
        let Some(place) = place(components) else {
            return Verdict::Descend;
        };
        if !self.accounts.is_empty() && !self.accounts.iter().any(|a| a == place.account) {
            return Verdict::Prune;
        }
        let Some((service, below)) = place.below.split_first() else {
            return Verdict::Descend;
        };
        match *service {
            "CloudTrail" => {}
            "CloudTrail-Digest" => return Verdict::Skip(DIGESTS),
            _ => return Verdict::Skip(OTHER_LOGS),
        }
        let Some((region, date)) = below.split_first() else {
            let more = !self.regions.is_empty() || self.since.is_some() || self.until.is_some();
            return if more {
                Verdict::Descend
            } else {
                Verdict::TakeAll
            };
        };
        if !self.regions.is_empty() && !self.regions.iter().any(|r| r == region) {
            return Verdict::Prune;
        }
        let num = |i: usize| -> Option<Option<u32>> {
            match date.get(i) {
                None => Some(None),
                Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                    t.parse().ok().map(Some)
                }
                Some(_) => None,
            }
        };
        // A folder that does not have the date layout is not pruned by date.
        let (Some(y), Some(m), Some(d)) = (num(0), num(1), num(2)) else {
            return Verdict::Descend;
        };
        let Some(year) = y else {
            return if self.since.is_some() || self.until.is_some() {
                Verdict::Descend
            } else {
                Verdict::TakeAll
            };
        };
        let first = Day {
            year,
            month: m.unwrap_or(1),
            day: d.unwrap_or(1),
        };
        let last = Day {
            year,
            month: m.unwrap_or(12),
            day: d.unwrap_or(31),
        };
        match self.dates(first, last) {
            (false, _) => Verdict::Prune,
            (true, true) => Verdict::TakeAll,
            (true, false) if d.is_some() || date.len() > 3 => Verdict::TakeAll,
            (true, false) => Verdict::Descend,
        }
    }

    /// Whether a file is wanted, given the components of its folder: a file in a pruned or
    /// skipped folder is not.
    pub fn keeps_file_in(&self, folder: &[&str]) -> bool {
        matches!(self.directory(folder), Verdict::Descend | Verdict::TakeAll)
    }
}

/// Why an object is not read, from its name alone (`None`: it may be a log). Used where reading
/// costs a request; local files are sniffed instead.
pub fn skip_by_name(name: &str) -> Option<&'static str> {
    if name.contains("_CloudTrail-Digest_") {
        return Some("a CloudTrail digest file (by its name)");
    }
    let lower = name.to_ascii_lowercase();
    let log_like = [".json.gz", ".json", ".jsonl", ".ndjson", ".jsonl.gz", ".gz"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    (!log_like).then_some("not a CloudTrail log (by its name: not .json or .json.gz)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn dir(filter: &TrailFilter, path: &str) -> Verdict {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        filter.directory(&parts)
    }

    #[test]
    fn dates_and_rfc3339_times_give_the_utc_day() {
        assert_eq!(day("2024-02-29").to_string(), "2024-02-29");
        assert_eq!(day("2024-05-01T10:00:00Z").to_string(), "2024-05-01");
        assert_eq!(day("2024-05-01T23:30:00-05:00").to_string(), "2024-05-02");
        assert_eq!(
            day("2024-01-01T01:00:00.123+02:00").to_string(),
            "2023-12-31"
        );
        assert_eq!(day("2023-12-31t23:59:60z").to_string(), "2023-12-31");
        for bad in [
            "",
            "2024",
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "2024-05-01T10:00Z",
            "2024-05-01T10:00:00",
            "2024-05-01 10:00:00Z",
            "2024-05-01T25:00:00Z",
            "2024-05-01T10:00:00+0200",
            "2024-05-01T10:00:00.Z",
        ] {
            let e = Day::parse(bad).unwrap_err();
            assert!(e.contains("is not a date"), "{bad}: {e}");
        }
    }

    #[test]
    fn days_count_across_month_year_and_leap_ends() {
        for (a, b) in [
            ("2024-02-28", "2024-02-29"),
            ("2023-02-28", "2023-03-01"),
            ("2023-12-31", "2024-01-01"),
            ("2100-02-28", "2100-03-01"),
            ("2000-02-28", "2000-02-29"),
        ] {
            assert_eq!(day(a).next(), day(b));
            assert_eq!(days_from_civil(day(b)) - days_from_civil(day(a)), 1);
        }
        assert_eq!(days_from_civil(day("1970-01-01")), 0);
    }

    const BASE: &str = "trail-prefix/AWSLogs/o-exampleorgid/111122223333/CloudTrail";

    #[test]
    fn no_filter_takes_a_service_folder_whole_and_skips_digests() {
        let f = TrailFilter::default();
        assert_eq!(dir(&f, "trail-prefix"), Verdict::Descend);
        assert_eq!(dir(&f, "AWSLogs"), Verdict::Descend);
        assert_eq!(dir(&f, "AWSLogs/111122223333"), Verdict::Descend);
        assert_eq!(dir(&f, BASE), Verdict::TakeAll);
        assert_eq!(dir(&f, "AWSLogs/111122223333/CloudTrail"), Verdict::TakeAll);
        assert_eq!(
            dir(&f, "AWSLogs/111122223333/CloudTrail-Digest"),
            Verdict::Skip(DIGESTS)
        );
        assert_eq!(
            dir(&f, "AWSLogs/111122223333/CloudTrail-Insight"),
            Verdict::Skip(OTHER_LOGS)
        );
        // Not the layout: never pruned.
        assert_eq!(dir(&f, "AWSLogs/not-an-account/x"), Verdict::Descend);
    }

    #[test]
    fn accounts_and_regions_prune_their_folders() {
        let f = TrailFilter {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            ..TrailFilter::default()
        };
        assert_eq!(dir(&f, "AWSLogs/444455556666"), Verdict::Prune);
        assert_eq!(
            dir(&f, "AWSLogs/o-abc/444455556666/CloudTrail"),
            Verdict::Prune
        );
        assert_eq!(dir(&f, BASE), Verdict::Descend);
        assert_eq!(dir(&f, &format!("{BASE}/us-east-1")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{BASE}/eu-west-1")), Verdict::TakeAll);
        assert_eq!(
            dir(&f, &format!("{BASE}/eu-west-1/2024/05")),
            Verdict::TakeAll
        );
        // Another trail layout beside it is not pruned by what this one says.
        assert_eq!(dir(&f, "exports/2024"), Verdict::Descend);
    }

    #[test]
    fn dates_prune_years_months_and_days_keeping_the_day_after_until() {
        let f = TrailFilter {
            since: Some(day("2024-02-10")),
            until: Some(day("2024-03-31")),
            ..TrailFilter::default()
        };
        let r = format!("{BASE}/us-east-1");
        assert_eq!(dir(&f, &r), Verdict::Descend);
        assert_eq!(dir(&f, &format!("{r}/2023")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024")), Verdict::Descend);
        assert_eq!(dir(&f, &format!("{r}/2025")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024/01")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024/02")), Verdict::Descend);
        assert_eq!(dir(&f, &format!("{r}/2024/03")), Verdict::TakeAll);
        // The day after `until`: a late delivery of its last minutes.
        assert_eq!(dir(&f, &format!("{r}/2024/04")), Verdict::Descend);
        assert_eq!(dir(&f, &format!("{r}/2024/04/01")), Verdict::TakeAll);
        assert_eq!(dir(&f, &format!("{r}/2024/04/02")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024/05")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024/02/09")), Verdict::Prune);
        assert_eq!(dir(&f, &format!("{r}/2024/02/10")), Verdict::TakeAll);
        // Not a date: not pruned by date.
        assert_eq!(dir(&f, &format!("{r}/latest")), Verdict::Descend);
        assert!(f.keeps_file_in(&[
            "AWSLogs",
            "111122223333",
            "CloudTrail",
            "x",
            "2024",
            "03",
            "01"
        ]));
        assert!(!f.keeps_file_in(&[
            "AWSLogs",
            "111122223333",
            "CloudTrail",
            "x",
            "2024",
            "01",
            "01"
        ]));
        assert!(!f.keeps_file_in(&["AWSLogs", "111122223333", "CloudTrail-Digest", "x"]));
    }

    #[test]
    fn only_since_or_only_until_is_open_on_the_other_side() {
        let since = TrailFilter {
            since: Some(day("2024-06-01")),
            ..TrailFilter::default()
        };
        let r = format!("{BASE}/us-east-1");
        assert_eq!(dir(&since, &format!("{r}/2030")), Verdict::TakeAll);
        assert_eq!(dir(&since, &format!("{r}/2024/05")), Verdict::Prune);
        let until = TrailFilter {
            until: Some(day("2019-12-31")),
            ..TrailFilter::default()
        };
        assert_eq!(dir(&until, &format!("{r}/2015")), Verdict::TakeAll);
        assert_eq!(dir(&until, &format!("{r}/2020/01/01")), Verdict::TakeAll);
        assert_eq!(dir(&until, &format!("{r}/2020/01/02")), Verdict::Prune);
    }

    #[test]
    fn names_that_are_no_logs_are_skipped_without_reading() {
        assert_eq!(
            skip_by_name("111122223333_CloudTrail_us-east-1_20240501T1005Z_abc.json.gz"),
            None
        );
        assert_eq!(skip_by_name("events.jsonl"), None);
        assert!(
            skip_by_name(
                "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240501T100500Z.json.gz"
            )
            .is_some()
        );
        assert!(skip_by_name("README.txt").is_some());
        assert!(skip_by_name("AWSLogs/").is_some());
    }
}
