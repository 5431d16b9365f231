//! Resources to the model: functions (with SAM `Globals` and events), event source mappings,
//! keys, aliases and log groups.

use super::*;

impl<'a> Template<'a> {
    pub(super) fn function(&self, entry: &'a Entry, serverless: bool) -> Function {
        let ty = if serverless {
            "AWS::Serverless::Function"
        } else {
            "AWS::Lambda::Function"
        };
        let mut origin = self.origin(entry, ty);
        let g = serverless;

        let environment = self.environment(entry, g, &mut origin.locations);

        let kms = self.prop(entry, "KmsKeyArn", g);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        let kms_key = self.key_ref(kms.as_ref(), "KmsKeyArn");

        let (package_type, code_kms_key) = if serverless {
            let image = self.prop(entry, "ImageUri", g).is_some();
            let pt = self.prop(entry, "PackageType", g);
            let package_type = match self.text_of(pt.as_ref()) {
                Some(t) => t,
                None if pt.is_some() => "unknown".into(),
                None if image => "Image".into(),
                None => "Zip".into(),
            };
            for code in ["CodeUri", "InlineCode", "ImageUri"] {
                if let Some(p) = self.prop(entry, code, g) {
                    origin
                        .locations
                        .insert("code".into(), self.loc(&p.pointer, p.entry.key_span));
                    break;
                }
            }
            let src = self.prop(entry, "SourceKMSKeyArn", g);
            self.note(&mut origin.locations, "code_kms_key", src.as_ref());
            (package_type, self.key_ref(src.as_ref(), "SourceKMSKeyArn"))
        } else {
            let code = self.prop(entry, "Code", false);
            if let Some(p) = &code {
                origin
                    .locations
                    .insert("code".into(), self.loc(&p.pointer, p.entry.key_span));
            }
            let image = code
                .as_ref()
                .is_some_and(|c| c.entry.value.get("ImageUri").is_some());
            let pt = self.prop(entry, "PackageType", false);
            let package_type = match self.text_of(pt.as_ref()) {
                Some(t) => t,
                None if pt.is_some() => "unknown".into(),
                None if image => "Image".into(),
                None => "Zip".into(),
            };
            let src = code.as_ref().and_then(|c| c.child("SourceKMSKeyArn"));
            self.note(&mut origin.locations, "code_kms_key", src.as_ref());
            (
                package_type,
                self.key_ref(src.as_ref(), "Code.SourceKMSKeyArn"),
            )
        };

        let mut log_group_resource = None;
        let log_group = self.prop(entry, "LoggingConfig", g).and_then(|lc| {
            let e = lc.entry.value.entry("LogGroup")?;
            origin.locations.insert(
                "log_group".into(),
                self.loc(&format!("{}/LogGroup", lc.pointer), e.key_span),
            );
            match self.resolve(&e.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => {
                    let name = self.log_group_name(&logical_id);
                    log_group_resource = Some(logical_id);
                    name
                }
                r => r.known_text().map(str::to_owned),
            }
        });
        let role = self.prop(entry, "Role", g).map(|p| {
            origin
                .locations
                .insert("role".into(), self.loc(&p.pointer, p.entry.key_span));
            match self.resolve(&p.entry.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => RoleRef {
                    value: None,
                    resource: Some(logical_id),
                },
                Resolved::Text {
                    text,
                    complete,
                    refs,
                } => RoleRef {
                    value: complete.then_some(text),
                    resource: refs.into_iter().next(),
                },
                _ => RoleRef {
                    value: None,
                    resource: None,
                },
            }
        });
        let durable = self.prop(entry, "DurableConfig", g).map(|p| {
            origin
                .locations
                .insert("durable".into(), self.loc(&p.pointer, p.entry.key_span));
            let key = p.child("KMSKeyArn");
            self.note(&mut origin.locations, "durable.kms_key", key.as_ref());
            Durable {
                kms_key: self.key_ref(key.as_ref(), "DurableConfig.KMSKeyArn"),
            }
        });
        let tracing = if serverless {
            self.prop(entry, "Tracing", g)
        } else {
            self.prop(entry, "TracingConfig", false)
                .and_then(|t| t.child("Mode"))
        };
        self.note(&mut origin.locations, "tracing_mode", tracing.as_ref());
        let tracing_mode = self.text_of(tracing.as_ref());
        let name = self.text_of(self.prop(entry, "FunctionName", g).as_ref());
        let log_group = log_group.or_else(|| name.as_ref().map(|n| format!("/aws/lambda/{n}")));
        if log_group_resource.is_none() {
            log_group_resource = self.log_group_for(&entry.key, log_group.as_deref());
        }

        Function {
            origin,
            name,
            environment,
            kms_key,
            package_type,
            code_kms_key,
            log_group,
            log_group_resource,
            tracing_mode,
            role,
            durable,
            stack_logical_id: None,
        }
    }

    /// The function's environment: its own `Environment.Variables` merged over those of SAM
    /// `Globals.Function` (SAM merges maps, the function's entries winning).
    pub(super) fn environment(
        &self,
        entry: &'a Entry,
        with_globals: bool,
        locations: &mut Locations,
    ) -> Option<Environment> {
        let own = self.prop(entry, "Environment", false);
        let global = if with_globals {
            self.globals
                .and_then(|g| g.entry("Environment"))
                .map(|e| Prop {
                    entry: e,
                    pointer: "/Globals/Function/Environment".into(),
                })
        } else {
            None
        };
        let trigger = own.as_ref().or(global.as_ref())?;
        locations.insert(
            "environment".into(),
            self.loc(&trigger.pointer, trigger.entry.key_span),
        );
        let mut env = Environment {
            variables: BTreeMap::new(),
            variables_unknown: false,
        };
        for source in [global.as_ref(), own.as_ref()].into_iter().flatten() {
            let value = &source.entry.value;
            if value.intrinsic().is_some() {
                env.variables_unknown = true;
                continue;
            }
            let Some(vars) = value.entry("Variables") else {
                continue;
            };
            match &vars.value.value {
                Value::Map(_) if vars.value.intrinsic().is_none() => {
                    for v in vars.value.entries() {
                        locations.insert(
                            format!("environment.variables.{}", v.key),
                            Loc {
                                file: self.file.clone(),
                                pointer: format!(
                                    "{}/Variables/{}",
                                    source.pointer,
                                    pointer_escape(&v.key)
                                ),
                                span: v.key_span,
                            },
                        );
                        env.variables.insert(v.key.clone(), self.env_var(&v.value));
                    }
                }
                Value::Null => {}
                _ => env.variables_unknown = true,
            }
        }
        Some(env)
    }

    pub(super) fn filter_criteria(&self, prop: Option<&Prop>) -> (FilterCriteria, Vec<String>) {
        let Some(p) = prop else {
            return (FilterCriteria::Absent, Vec::new());
        };
        let node = &p.entry.value;
        if node.is_null() {
            return (FilterCriteria::Absent, Vec::new());
        }
        if node.intrinsic().is_some() {
            return (FilterCriteria::Unknown, Vec::new());
        }
        match node.get("Filters") {
            None => (FilterCriteria::Absent, Vec::new()),
            Some(f) if f.intrinsic().is_some() => (FilterCriteria::Unknown, Vec::new()),
            Some(f) => FilterCriteria::of_filters(f.items()),
        }
    }

    pub(super) fn event_source_mapping(&self, entry: &'a Entry) -> EventSourceMapping {
        let mut origin = self.origin(entry, "AWS::Lambda::EventSourceMapping");
        let fc = self.prop(entry, "FilterCriteria", false);
        self.note(&mut origin.locations, "filter_criteria", fc.as_ref());
        let (filter_criteria, filter_patterns) = self.filter_criteria(fc.as_ref());
        let kms = self.prop(entry, "KmsKeyArn", false);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        let function = self.prop(entry, "FunctionName", false).and_then(|p| {
            match self.resolve(&p.entry.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => Some(logical_id),
                Resolved::Text { refs, .. } => refs.into_iter().find(|r| {
                    matches!(
                        self.resource_type(r),
                        Some("AWS::Lambda::Function" | "AWS::Serverless::Function")
                    )
                }),
                _ => None,
            }
        });
        EventSourceMapping {
            origin,
            function,
            event_source_arn: self.text_of(self.prop(entry, "EventSourceArn", false).as_ref()),
            event_source_type: None,
            filter_criteria,
            filter_patterns,
            kms_key: self.key_ref(kms.as_ref(), "KmsKeyArn"),
            filter_criteria_error: None,
        }
    }

    /// SAM pull events (`SQS`, `Kinesis`, ...) become the mappings SAM would create, keeping the
    /// event's own lines.
    pub(super) fn sam_pull_events(&self, entry: &'a Entry) -> Vec<EventSourceMapping> {
        let Some(events) = entry.value.get("Properties").and_then(|p| p.get("Events")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ev in events.entries() {
            let Some(ty) = ev.value.get("Type").and_then(Node::as_str) else {
                continue;
            };
            let Some((_, source_prop)) = PULL_EVENTS.iter().find(|(t, _)| *t == ty) else {
                continue;
            };
            let base = format!(
                "/Resources/{}/Properties/Events/{}",
                pointer_escape(&entry.key),
                pointer_escape(&ev.key)
            );
            let id = format!("{}.Events.{}", entry.key, ev.key);
            let mut locations = Locations::new();
            locations.insert(
                String::new(),
                Loc {
                    file: self.file.clone(),
                    pointer: base.clone(),
                    span: ev.key_span,
                },
            );
            let props = ev.value.get("Properties");
            let prop = |name: &str| {
                props.and_then(|p| p.entry(name)).map(|e| Prop {
                    entry: e,
                    pointer: format!("{base}/Properties/{}", pointer_escape(name)),
                })
            };
            let fc = prop("FilterCriteria");
            self.note(&mut locations, "filter_criteria", fc.as_ref());
            let kms = prop("KmsKeyArn");
            self.note(&mut locations, "kms_key", kms.as_ref());
            let (filter_criteria, filter_patterns) = self.filter_criteria(fc.as_ref());
            let event_source_arn = if source_prop.is_empty() {
                None
            } else {
                self.text_of(prop(source_prop).as_ref())
            };
            out.push(EventSourceMapping {
                origin: Origin {
                    id: id.clone(),
                    source: self.source,
                    logical_id: id,
                    resource_type: "AWS::Lambda::EventSourceMapping".into(),
                    locations,
                    via: None,
                },
                function: Some(entry.key.clone()),
                event_source_arn,
                event_source_type: Some(ty.to_owned()),
                filter_criteria,
                filter_patterns,
                kms_key: self.key_ref(kms.as_ref(), "KmsKeyArn"),
                filter_criteria_error: None,
            });
        }
        out
    }

    pub(super) fn kms_key(&self, entry: &'a Entry, ty: &str) -> KmsKey {
        let mut origin = self.origin(entry, ty);
        let enabled = self.prop(entry, "Enabled", false);
        let rotation = self.prop(entry, "EnableKeyRotation", false);
        let policy = self.prop(entry, "KeyPolicy", false);
        let window = self.prop(entry, "PendingWindowInDays", false);
        for (path, p) in [
            ("enabled", &enabled),
            ("rotation_enabled", &rotation),
            ("policy", &policy),
            ("deletion_window_days", &window),
        ] {
            if let Some(p) = p {
                origin
                    .locations
                    .insert(path.into(), self.loc(&p.pointer, p.entry.key_span));
            }
        }
        let key_spec = self
            .text_of(self.prop(entry, "KeySpec", false).as_ref())
            .or_else(|| Some("SYMMETRIC_DEFAULT".into()));
        // A replica key's rotation follows its primary, which this template does not show.
        let rotation_default = if ty == "AWS::KMS::ReplicaKey" {
            Tri::Unknown
        } else {
            Tri::No
        };
        let (policy_state, policy_statements) = match &policy {
            None => ("default", Vec::new()),
            Some(p) => match self.policy_statements(&p.entry.value) {
                Some(st) => ("declared", st),
                None => ("unknown", Vec::new()),
            },
        };
        KmsKey {
            origin,
            manager: "customer",
            enabled: self.tri_of(enabled.as_ref(), Tri::Yes),
            rotation_enabled: self.tri_of(rotation.as_ref(), rotation_default),
            pending_deletion: false,
            key_spec,
            policy_state,
            policy_statements,
            policy: policy.map(|p| p.entry.value.to_json()),
            deletion_window_days: self.text_of(window.as_ref()).and_then(|t| t.parse().ok()),
            used_by: Vec::new(),
        }
    }

    pub(super) fn kms_alias(&self, entry: &'a Entry) -> KmsAlias {
        let origin = self.origin(entry, "AWS::KMS::Alias");
        let name = self.text_of(self.prop(entry, "AliasName", false).as_ref());
        let target = self.prop(entry, "TargetKeyId", false);
        let target_key = self.key_ref(target.as_ref(), "TargetKeyId").key;
        KmsAlias {
            origin,
            name,
            target_key,
        }
    }

    pub(super) fn log_group(&self, entry: &'a Entry) -> LogGroup {
        let mut origin = self.origin(entry, "AWS::Logs::LogGroup");
        let kms = self.prop(entry, "KmsKeyId", false);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        LogGroup {
            origin,
            written_by: Vec::new(),
            name: self.text_of(self.prop(entry, "LogGroupName", false).as_ref()),
            kms_key: self.key_ref(kms.as_ref(), "KmsKeyId"),
        }
    }
}
