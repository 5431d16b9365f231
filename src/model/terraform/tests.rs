use super::*;
use crate::model::ValueSource;
use crate::read::{Limits, hcl};

fn module(files: &[(&str, &str)]) -> Module {
    Module {
        files: files
            .iter()
            .map(|(name, text)| {
                let body = hcl::parse(text, &Limits::default()).unwrap();
                (FileId::from(*name), Arc::new(body))
            })
            .collect(),
    }
}

fn project(
    modules: Vec<Module>,
    calls: &[(usize, &str, usize)],
    tfvars: &[(&str, &str)],
) -> Project {
    Project {
        source: "terraform",
        modules,
        calls: calls
            .iter()
            .map(|(m, n, t)| ((*m, n.to_string()), *t))
            .collect(),
        not_followed: HashMap::new(),
        tfvars: module(tfvars).files,
        instances_listed: false,
    }
}

fn inv(text: &str) -> Inventory {
    let (inv, problems) = inventory(&project(vec![module(&[("main.tf", text)])], &[], &[]));
    assert!(problems.is_empty(), "{problems:?}");
    inv
}

fn chain(k: &KeyRef) -> String {
    k.chain.join(" <- ")
}

#[test]
fn variables_default_tfvars_and_locals() {
    let text = "variable \"key\" {\n  default = \"alias/aws/lambda\"\n}\nlocals {\n  key = var.key\n}\nresource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = local.key\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n";
    let i = inv(text);
    let k = &i.functions[0].kms_key;
    assert_eq!(k.state, KeyState::AwsManaged);
    assert_eq!(
        chain(k),
        "kms_key_arn <- local.key <- var.key <- default \"alias/aws/lambda\""
    );

    let p = project(
        vec![module(&[("main.tf", text)])],
        &[],
        &[(
            "prod.tfvars",
            "key = \"arn:aws:kms:eu-west-1:111122223333:key/abc\"\n",
        )],
    );
    let (i, _) = inventory(&p);
    let k = &i.functions[0].kms_key;
    assert_eq!(k.state, KeyState::CustomerManaged);
    assert!(k.assumed);
    assert!(
        chain(k).contains("prod.tfvars \"arn:aws:kms"),
        "{}",
        chain(k)
    );
}

#[test]
fn declared_keys_aliases_and_data_sources() {
    let i = inv(concat!(
        "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = true\n}\n",
        "resource \"aws_kms_alias\" \"a\" {\n  name = \"alias/app\"\n  target_key_id = aws_kms_key.k.key_id\n}\n",
        "data \"aws_kms_alias\" \"lambda\" {\n  name = \"alias/aws/lambda\"\n}\n",
        "data \"aws_kms_key\" \"byalias\" {\n  key_id = \"alias/app\"\n}\n",
        "resource \"aws_lambda_function\" \"a\" {\n  kms_key_arn = aws_kms_key.k.arn\n}\n",
        "resource \"aws_lambda_function\" \"b\" {\n  kms_key_arn = data.aws_kms_alias.lambda.target_key_arn\n}\n",
        "resource \"aws_lambda_function\" \"c\" {\n  kms_key_arn = aws_kms_alias.a.arn\n}\n",
        "resource \"aws_lambda_function\" \"d\" {\n  kms_key_arn = data.aws_kms_key.byalias.arn\n}\n",
        "resource \"aws_lambda_function\" \"e\" {\n  kms_key_arn = aws_s3_bucket.b.arn\n}\n",
        "resource \"aws_s3_bucket\" \"b\" {}\n",
    ));
    let f = |n: usize| &i.functions[n].kms_key;
    assert_eq!(f(0).state, KeyState::CustomerManaged);
    assert_eq!(f(0).key.as_deref(), Some("aws_kms_key.k"));
    assert_eq!(f(1).state, KeyState::AwsManaged);
    assert!(chain(f(1)).contains("data.aws_kms_alias.lambda name \"alias/aws/lambda\""));
    assert_eq!(
        f(2).key.as_deref(),
        Some("aws_kms_key.k"),
        "{}",
        chain(f(2))
    );
    assert_eq!(
        f(3).key.as_deref(),
        Some("aws_kms_key.k"),
        "{}",
        chain(f(3))
    );
    assert_eq!(f(4).state, KeyState::Unknown);
    assert_eq!(
        i.kms_aliases[0].target_key.as_deref(),
        Some("aws_kms_key.k")
    );
    assert_eq!(i.kms_keys[0].rotation_enabled, Tri::Yes);
    assert_eq!(i.kms_keys[0].used_by.len(), 3);
}

#[test]
fn count_is_one_object_and_count_zero_none() {
    let i = inv(concat!(
        "resource \"aws_lambda_function\" \"f\" {\n  count = 3\n  environment {\n    variables = { A = \"x${count.index}\" }\n  }\n}\n",
        "resource \"aws_lambda_function\" \"g\" {\n  count = var.on ? 1 : 0\n}\n",
        "variable \"on\" {\n  default = false\n}\n",
    ));
    assert_eq!(i.functions.len(), 1);
    assert_eq!(i.functions[0].origin.id, "aws_lambda_function.f");
    assert_eq!(
        i.functions[0].environment.as_ref().unwrap().variables.len(),
        1
    );
}

#[test]
fn dynamic_blocks_and_for_each_instances() {
    let i = inv(concat!(
        "variable \"env\" {\n  default = {}\n}\n",
        "variable \"maps\" {\n  default = {\n    a = { filter = \"{}\" }\n    b = {}\n  }\n}\n",
        "resource \"aws_lambda_function\" \"f\" {\n  dynamic \"environment\" {\n    for_each = length(keys(var.env)) == 0 ? [] : [true]\n    content {\n      variables = var.env\n    }\n  }\n}\n",
        "resource \"aws_lambda_event_source_mapping\" \"m\" {\n  for_each = var.maps\n  dynamic \"filter_criteria\" {\n    for_each = try(each.value.filter, null) != null ? [true] : []\n    content {\n      filter {\n        pattern = each.value.filter\n      }\n    }\n  }\n}\n",
    ));
    assert!(i.functions[0].environment.is_none());
    let m = &i.event_source_mappings[0];
    assert_eq!(m.filter_criteria, FilterCriteria::Present);
    assert_eq!(m.filter_patterns, ["{}"]);
    assert_eq!(m.origin.locations["filter_criteria"].span.start.line, 20);
}

#[test]
fn local_modules_get_their_arguments() {
    let root = module(&[(
        "main.tf",
        "resource \"aws_kms_key\" \"k\" {}\nmodule \"api\" {\n  source = \"./fn\"\n  key = aws_kms_key.k.arn\n}\nmodule \"other\" {\n  source = \"./fn\"\n}\n",
    )]);
    let child = module(&[(
        "fn/main.tf",
        "variable \"key\" {\n  default = null\n}\nresource \"aws_lambda_function\" \"this\" {\n  kms_key_arn = var.key\n  environment {\n    variables = { A = \"1\" }\n  }\n}\noutput \"arn\" {\n  value = aws_lambda_function.this.arn\n}\n",
    )]);
    let (i, _) = inventory(&project(
        vec![root, child],
        &[(0, "api", 1), (0, "other", 1)],
        &[],
    ));
    assert_eq!(i.functions.len(), 2);
    let api = &i.functions[0];
    assert_eq!(api.origin.id, "module.api.aws_lambda_function.this");
    assert_eq!(api.kms_key.key.as_deref(), Some("aws_kms_key.k"));
    assert_eq!(
        chain(&api.kms_key),
        "kms_key_arn <- var.key <- argument of module.api <- aws_kms_key.k (customer managed)"
    );
    assert_eq!(&*api.origin.locations["kms_key"].file, "fn/main.tf");
    assert_eq!(
        api.origin.via.as_deref(),
        Some("module called from main.tf:2")
    );
    assert_eq!(i.functions[1].kms_key.state, KeyState::Absent);
}

#[test]
fn duplicates_are_reported_and_kept_apart() {
    let p = project(
        vec![module(&[
            ("a.tf", "resource \"aws_lambda_function\" \"f\" {}\n"),
            ("b.tf", "\nresource \"aws_lambda_function\" \"f\" {}\n"),
        ])],
        &[],
        &[],
    );
    let (i, problems) = inventory(&p);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, Some(2));
    assert_eq!(i.functions.len(), 2);
    assert_eq!(i.functions[1].origin.id, "aws_lambda_function.f (b.tf)");
}

#[test]
fn hostile_configurations_terminate() {
    let i = inv(
        "locals {\n  a = local.b\n  b = local.a\n}\nresource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = local.a\n}\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
}

/// Every prefix of real configurations (cut every few bytes) reads and models without a panic.
#[test]
fn truncated_configurations_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut stack = vec![root];
    let mut texts = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tf") {
                texts.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    assert!(texts.len() >= 10);
    for text in texts {
        for cut in (0..text.len())
            .step_by(7)
            .filter(|c| text.is_char_boundary(*c))
        {
            if let Ok(body) = hcl::parse(&text[..cut], &Limits::default()) {
                let m = Module {
                    files: vec![(FileId::from("t.tf"), Arc::new(body))],
                };
                let _ = inventory(&project(vec![m], &[], &[]));
            }
        }
    }
}

fn sources(f: &Function) -> Vec<(String, ValueSource, Option<String>)> {
    f.environment
        .as_ref()
        .unwrap()
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.source, v.value.clone()))
        .collect()
}

#[test]
fn environment_variable_sources() {
    let i = inv(concat!(
        "variable \"with_default\" {\n  default = \"d\"\n}\n",
        "variable \"no_default\" {}\n",
        "variable \"hidden\" {\n  default = \"s3cr3t\"\n  sensitive = true\n}\n",
        "locals {\n  via_local = var.with_default\n}\n",
        "data \"aws_secretsmanager_secret_version\" \"db\" {\n  secret_id = \"db\"\n}\n",
        "data \"aws_ssm_parameter\" \"p\" {\n  name = \"/p\"\n}\n",
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
        "resource \"aws_lambda_function\" \"f\" {\n  environment {\n    variables = {\n",
        "      LIT = \"x\"\n      NUM = 3\n      DEF = var.with_default\n      LOC = local.via_local\n",
        "      TPL = \"a-${var.with_default}\"\n      PAR = var.no_default\n      SEC = var.hidden\n",
        "      SM = data.aws_secretsmanager_secret_version.db.secret_string\n",
        "      SSM = data.aws_ssm_parameter.p.value\n      ARN = data.aws_ssm_parameter.p.arn\n",
        "      RES = aws_s3_bucket.b.bucket\n      FN = sensitive(\"y\")\n      FILE = file(\"x\")\n",
        "    }\n  }\n}\n",
    ));
    use ValueSource::*;
    let lit = |v: &str| Some(v.to_owned());
    assert_eq!(
        sources(&i.functions[0]),
        vec![
            ("ARN".into(), Expression, None),
            ("DEF".into(), Literal, lit("d")),
            ("FILE".into(), Expression, None),
            ("FN".into(), SecretParameter, None),
            ("LIT".into(), Literal, lit("x")),
            ("LOC".into(), Literal, lit("d")),
            ("NUM".into(), Literal, lit("3")),
            ("PAR".into(), Parameter, None),
            ("RES".into(), Expression, None),
            ("SEC".into(), SecretParameter, None),
            ("SM".into(), DynamicReference, None),
            ("SSM".into(), DynamicReference, None),
            ("TPL".into(), Literal, lit("a-d")),
        ]
    );
}

#[test]
fn environment_maps_behind_variables_and_module_arguments() {
    let root = module(&[(
        "main.tf",
        concat!(
            "variable \"db_password\" {\n  sensitive = true\n}\n",
            "module \"fn\" {\n  source = \"./fn\"\n",
            "  env = merge(var.base, { PASSWORD = var.db_password, TOKEN = \"t0k3n\" })\n}\n",
            "variable \"base\" {\n  default = { STAGE = \"prod\" }\n}\n",
        ),
    )]);
    let child = module(&[(
        "fn/main.tf",
        concat!(
            "variable \"env\" {}\n",
            "resource \"aws_lambda_function\" \"this\" {\n",
            "  environment {\n    variables = var.env\n  }\n}\n",
        ),
    )]);
    let (i, _) = inventory(&project(vec![root, child], &[(0, "fn", 1)], &[]));
    use ValueSource::*;
    assert_eq!(
        sources(&i.functions[0]),
        vec![
            ("PASSWORD".into(), SecretParameter, None),
            ("STAGE".into(), Literal, Some("prod".into())),
            ("TOKEN".into(), Literal, Some("t0k3n".into())),
        ]
    );

    // A map that cannot be followed entry by entry: every entry is an expression.
    let i = inv(concat!(
        "resource \"aws_lambda_function\" \"f\" {\n  for_each = { a = { K = \"v\" } }\n",
        "  environment {\n    variables = each.value\n  }\n}\n",
    ));
    assert_eq!(
        sources(&i.functions[0]),
        vec![("K".into(), Expression, None)]
    );
}

#[test]
fn roles_name_their_resource_or_value() {
    let i = inv(concat!(
        "resource \"aws_iam_role\" \"r\" {\n  name = \"r\"\n}\n",
        "data \"aws_iam_role\" \"existing\" {\n  name = \"existing\"\n}\n",
        "resource \"aws_lambda_function\" \"a\" {\n  role = aws_iam_role.r.arn\n}\n",
        "resource \"aws_lambda_function\" \"b\" {\n  role = \"arn:aws:iam::111122223333:role/b\"\n}\n",
        "resource \"aws_lambda_function\" \"c\" {\n  role = data.aws_iam_role.existing.arn\n}\n",
    ));
    let role = |n: usize| i.functions[n].role.clone().unwrap();
    assert_eq!(role(0).resource.as_deref(), Some("aws_iam_role.r"));
    assert_eq!(
        role(1).value.as_deref(),
        Some("arn:aws:iam::111122223333:role/b")
    );
    assert_eq!(
        role(2).resource.as_deref(),
        Some("data.aws_iam_role.existing")
    );
}

#[test]
fn functions_find_their_log_groups() {
    let i = inv(concat!(
        "variable \"prefix\" {}\n",
        // Named like the function, both from a variable with no value.
        "resource \"aws_lambda_function\" \"a\" {\n  function_name = \"${lower(var.prefix)}-a\"\n}\n",
        "resource \"aws_cloudwatch_log_group\" \"a\" {\n  name = \"/aws/lambda/${lower(var.prefix)}-a\"\n}\n",
        // After the function's attribute.
        "resource \"aws_lambda_function\" \"b\" {\n  function_name = var.prefix\n}\n",
        "resource \"aws_cloudwatch_log_group\" \"b\" {\n  name = \"/aws/lambda/${aws_lambda_function.b.function_name}\"\n}\n",
        // In logging_config.
        "resource \"aws_lambda_function\" \"c\" {\n  function_name = \"c\"\n",
        "  logging_config {\n    log_format = \"JSON\"\n    log_group = aws_cloudwatch_log_group.shared.name\n  }\n}\n",
        "resource \"aws_cloudwatch_log_group\" \"shared\" {\n  name = \"shared\"\n}\n",
        // A group of another name: not the function's.
        "resource \"aws_lambda_function\" \"d\" {\n  function_name = \"d\"\n}\n",
        "resource \"aws_cloudwatch_log_group\" \"other\" {\n  name = \"/aws/d\"\n}\n",
    ));
    let groups: Vec<(Option<&str>, Option<&str>)> = i
        .functions
        .iter()
        .map(|f| (f.log_group_resource.as_deref(), f.log_group.as_deref()))
        .collect();
    assert_eq!(
        groups,
        vec![
            (Some("aws_cloudwatch_log_group.a"), None),
            (Some("aws_cloudwatch_log_group.b"), None),
            (Some("aws_cloudwatch_log_group.shared"), Some("shared")),
            (None, Some("/aws/lambda/d")),
        ]
    );
}

#[test]
fn key_policies_are_normalised() {
    let i = inv(concat!(
        "resource \"aws_iam_role\" \"r\" {}\n",
        "data \"aws_caller_identity\" \"me\" {}\n",
        "data \"aws_iam_policy_document\" \"base\" {\n",
        "  statement {\n    sid = \"Root\"\n    actions = [\"kms:*\"]\n",
        "    principals {\n      type = \"AWS\"\n      identifiers = [\"arn:aws:iam::111122223333:user/old\"]\n    }\n  }\n}\n",
        "data \"aws_iam_policy_document\" \"doc\" {\n",
        "  source_policy_documents = [data.aws_iam_policy_document.base.json]\n",
        "  statement {\n    sid = \"Root\"\n    actions = [\"kms:*\"]\n",
        "    principals {\n      type = \"AWS\"\n      identifiers = [data.aws_caller_identity.me.account_id]\n    }\n  }\n",
        "  dynamic \"statement\" {\n    for_each = [\"kms:Decrypt\"]\n    content {\n",
        "      effect = \"Allow\"\n      actions = [statement.value]\n",
        "      principals {\n        type = \"*\"\n        identifiers = [\"*\"]\n      }\n",
        "      condition {\n        test = \"StringEquals\"\n        variable = \"aws:PrincipalOrgID\"\n        values = [\"o-1\"]\n      }\n",
        "    }\n  }\n}\n",
        "resource \"aws_kms_key\" \"doc\" {\n  policy = data.aws_iam_policy_document.doc.json\n}\n",
        "resource \"aws_kms_key\" \"enc\" {\n  policy = jsonencode({ Statement = {\n",
        "    Effect = \"Allow\", Action = \"kms:Decrypt\",\n",
        "    Principal = { AWS = [aws_iam_role.r.arn], Service = \"lambda.amazonaws.com\" } } })\n}\n",
        "resource \"aws_kms_key\" \"none\" {}\n",
        "variable \"p\" {}\n",
        "resource \"aws_kms_key\" \"given\" {\n  policy = var.p\n}\n",
    ));
    let key = |id: &str| i.kms_keys.iter().find(|k| k.origin.id == id).unwrap();
    let doc = key("aws_kms_key.doc");
    assert_eq!(doc.policy_state, "declared");
    // The document's own "Root" replaces the source's.
    assert_eq!(
        doc.policy_statements.len(),
        2,
        "{:?}",
        doc.policy_statements
    );
    assert_eq!(
        doc.policy_statements[0].aws_principals,
        ["${AWS::AccountId}"]
    );
    assert!(doc.policy_statements[1].any_principal);
    assert_eq!(doc.policy_statements[1].actions, ["kms:Decrypt"]);
    assert_eq!(
        doc.policy_statements[1].condition_keys,
        ["aws:principalorgid"]
    );
    let enc = key("aws_kms_key.enc");
    assert_eq!(enc.policy_state, "declared");
    let st = &enc.policy_statements[0];
    assert_eq!(st.aws_principals, ["${aws_iam_role.r.arn}"]);
    assert_eq!(st.principal_resources, ["aws_iam_role.r"]);
    assert_eq!(st.service_principals, ["lambda.amazonaws.com"]);
    assert_eq!(key("aws_kms_key.none").policy_state, "default");
    assert_eq!(key("aws_kms_key.given").policy_state, "unknown");
}

#[test]
fn mappings_name_their_function_by_reference_name_or_arn() {
    let i = inv(r#"
resource "aws_lambda_function" "orders" {
  function_name = "orders"
}
resource "aws_lambda_function" "billing" {
  function_name = "billing"
}
resource "aws_lambda_event_source_mapping" "by_attribute" {
  function_name = aws_lambda_function.orders.function_name
}
resource "aws_lambda_event_source_mapping" "by_literal" {
  function_name = "billing"
}
resource "aws_lambda_event_source_mapping" "by_arn" {
  function_name = "arn:aws:lambda:eu-west-1:111122223333:function:orders:live"
}
resource "aws_lambda_event_source_mapping" "elsewhere" {
  function_name = "not-in-this-configuration"
}
"#);
    let function = |id: &str| {
        i.event_source_mappings
            .iter()
            .find(|m| m.origin.id == id)
            .unwrap()
            .function
            .as_deref()
    };
    assert_eq!(
        function("aws_lambda_event_source_mapping.by_attribute"),
        Some("aws_lambda_function.orders")
    );
    assert_eq!(
        function("aws_lambda_event_source_mapping.by_literal"),
        Some("aws_lambda_function.billing")
    );
    assert_eq!(
        function("aws_lambda_event_source_mapping.by_arn"),
        Some("aws_lambda_function.orders")
    );
    assert_eq!(function("aws_lambda_event_source_mapping.elsewhere"), None);
}

/// The value of `local.<name>` in a one-file root module.
fn local_value(text: &str, name: &str) -> V {
    let p = project(vec![module(&[("main.tf", text)])], &[], &[]);
    let (ev, _) = Eval::new(&p);
    let expr = ev.defs[0].locals[name].1.expr.clone();
    ev.eval(
        &expr,
        &Cx {
            inst: 0,
            binds: Vec::new(),
        },
        None,
    )
}

#[test]
fn objects_holding_unknown_attributes_are_values() {
    // An object whose attributes are known only after apply is itself known and never null,
    // and every function that looks into it gives a value or an unknown.
    let setup = concat!(
        "resource \"aws_iam_role\" \"r\" {}\n",
        "variable \"c\" {}\n",
        "variable \"missing\" {}\n",
        "locals {\n",
        "  o = { a = aws_iam_role.r.unique_id, b = \"x\" }\n",
        "  maybe = var.c ? local.o : null\n",
        "  either = var.c ? local.o : { b = 1 }\n",
        "}\n",
    );
    let unknown = V::Unknown(String::new());
    let s = |x: &str| V::Str(x.into());
    let cases: Vec<(&str, V)> = vec![
        ("local.o == null", V::Bool(false)),
        ("local.o != null", V::Bool(true)),
        ("null == local.o ? 0 : 1", V::Num(1.0)),
        ("local.o == { a = \"1\", b = \"y\" }", V::Bool(false)),
        ("local.o == { a = \"1\" }", V::Bool(false)),
        ("local.o == [local.o]", V::Bool(false)),
        ("local.o == { a = \"1\", b = \"x\" }", unknown.clone()),
        ("[local.o] == [local.o, local.o]", V::Bool(false)),
        ("local.o.a == null", V::Bool(false)),
        ("local.o.a == \"x\"", unknown.clone()),
        ("var.missing == null", unknown.clone()),
        ("local.maybe == null", unknown.clone()),
        ("local.either == null", V::Bool(false)),
        (
            "local.either != null ? [local.either] : []",
            V::List(vec![V::Choice(vec![])]),
        ),
        ("can(local.o.a)", V::Bool(true)),
        ("can(local.o.zz)", V::Bool(false)),
        ("try(local.o.zz, \"d\")", s("d")),
        ("try(local.o.b, null)", s("x")),
        ("lookup(local.o, \"b\", \"d\")", s("x")),
        ("lookup(local.o, \"zz\", \"d\")", s("d")),
        ("coalesce(null, local.o).b", s("x")),
        ("length(local.o)", V::Num(2.0)),
        ("length(merge(local.o, { c = 1 }, null))", V::Num(3.0)),
        ("[for k, v in local.o : k]", V::List(vec![s("a"), s("b")])),
        ("length([for o in [local.o] : o if o != null])", V::Num(1.0)),
        ("{ for k, v in local.o : k => v if v != null }.b", s("x")),
        ("[local.o][*].b", V::List(vec![s("x")])),
        ("one([local.o]).b", s("x")),
        ("one([])", V::Null),
        ("length(flatten([[local.o], [], [[local.o]]]))", V::Num(2.0)),
        ("keys(local.o)", V::List(vec![s("a"), s("b")])),
        ("values(local.o)[1]", s("x")),
        ("element([local.o], 1).b", s("x")),
        (
            "contains([local.o], { a = \"q\", b = \"y\" })",
            V::Bool(false),
        ),
        (
            "contains([local.o], { a = \"q\", b = \"x\" })",
            unknown.clone(),
        ),
        ("contains([\"x\", local.o.a], \"x\")", V::Bool(true)),
        ("contains([\"y\", local.o.a], \"x\")", unknown.clone()),
        ("contains(keys(local.o), \"b\")", V::Bool(true)),
        ("length(local.o) > 0 && local.o != null", V::Bool(true)),
        // An attribute of one of several objects: the attribute of each.
        ("local.either.b", V::List(vec![V::Choice(vec![])])),
        ("(var.c ? { k = 1 } : { k = 1 }).k", V::Num(1.0)),
        // A function of one of several values: of each.
        ("lookup(local.either, \"b\", null) != null", V::Bool(true)),
        ("length(var.c ? [1] : [2])", V::Num(1.0)),
        (
            "coalesce(var.c ? null : \"a\", \"b\")",
            V::List(vec![V::Choice(vec![])]),
        ),
        (
            "length(var.c ? [1] : [2, 3])",
            V::List(vec![V::Choice(vec![])]),
        ),
        // An operator too.
        ("(var.c ? 1 : 2) > 0", V::Bool(true)),
        (
            "length(var.c ? [1] : [2, 3]) > 0 && local.o != null",
            V::Bool(true),
        ),
        ("(var.c ? 1 : 2) + 1", V::List(vec![V::Choice(vec![])])),
    ];
    for (expr, want) in cases {
        let got = local_value(&format!("{setup}locals {{\n  t = {expr}\n}}\n"), "t");
        let ok = match (&want, &got) {
            // Not known: unknown, or one of several values.
            (V::Unknown(_), V::Unknown(_) | V::Choice(_)) => true,
            (V::List(w), V::List(g)) if matches!(w.first(), Some(V::Choice(_))) => {
                g.len() == 1 && matches!(g[0], V::Choice(_))
            }
            (V::List(w), V::Choice(g)) if matches!(w.first(), Some(V::Choice(_))) => g.len() == 2,
            _ => want == got,
        };
        assert!(ok, "{expr}: want {want:?}, got {got:?}");
    }
}

#[test]
fn comparisons_and_functions_never_panic() {
    let r = Target {
        id: "aws_iam_role.r".into(),
        ty: "aws_iam_role".into(),
        attr: Some("arn".into()),
    };
    let obj = V::Obj(vec![
        ("a".into(), V::Ref(r.clone())),
        ("b".into(), V::Str("x".into())),
    ]);
    let samples = vec![
        V::Null,
        V::Bool(true),
        V::Num(-1.0),
        V::Num(f64::NAN),
        V::Num(1e300),
        V::Num(1.5),
        V::Str(String::new()),
        V::Str("a".into()),
        V::List(Vec::new()),
        V::List(vec![obj.clone(), V::Ref(r.clone())]),
        obj.clone(),
        V::Ref(r.clone()),
        V::Partial {
            text: "x-${?}".into(),
            refs: vec![r],
        },
        V::Choice(vec![obj, V::Null]),
        V::Unknown("u".into()),
        V::Err("e".into()),
    ];
    for a in &samples {
        for b in &samples {
            assert_eq!(equal(a, b), equal(b, a), "{a:?} == {b:?}");
        }
    }
    let names = [
        "coalesce",
        "merge",
        "length",
        "keys",
        "values",
        "lookup",
        "concat",
        "tolist",
        "toset",
        "tomap",
        "tostring",
        "one",
        "element",
        "flatten",
        "compact",
        "jsonencode",
        "jsondecode",
        "format",
        "join",
        "split",
        "lower",
        "trimprefix",
        "replace",
        "contains",
        "distinct",
        "slice",
        "zipmap",
        "coalescelist",
        "min",
        "abs",
        "tonumber",
        "tobool",
        "range",
        "substr",
    ];
    for name in names {
        functions::call(name, Vec::new());
        for a in &samples {
            functions::call(name, vec![a.clone()]);
            for b in &samples {
                for c in &samples {
                    functions::call(name, vec![a.clone(), b.clone(), c.clone()]);
                }
            }
        }
    }
}

#[test]
fn null_idiom_in_a_module_with_unknown_attributes() {
    // The shape of most public modules: an optional object variable, given by the caller an
    // object that holds attributes known only after apply.
    let root = module(&[(
        "main.tf",
        "resource \"aws_cloudwatch_log_group\" \"lg\" {}\nmodule \"fn\" {\n  source = \"./fn\"\n  lc = { log_group = aws_cloudwatch_log_group.lg.name }\n}\nmodule \"off\" {\n  source = \"./fn\"\n}\n",
    )]);
    let child = module(&[(
        "fn/main.tf",
        concat!(
            "variable \"lc\" {\n  type = object({ log_group = string })\n  default = null\n}\n",
            "resource \"aws_lambda_function\" \"this\" {\n  count = var.lc == null ? 0 : 1\n",
            "  dynamic \"logging_config\" {\n    for_each = var.lc == null ? [] : [var.lc]\n",
            "    content {\n      log_format = \"JSON\"\n      log_group = logging_config.value.log_group\n    }\n  }\n}\n",
        ),
    )]);
    let (i, problems) = inventory(&project(
        vec![root, child],
        &[(0, "fn", 1), (0, "off", 1)],
        &[],
    ));
    assert!(problems.is_empty(), "{problems:?}");
    let ids: Vec<&str> = i.functions.iter().map(|f| f.origin.id.as_str()).collect();
    assert_eq!(ids, ["module.fn.aws_lambda_function.this"]);
    assert!(i.uncertain.is_empty(), "{:?}", i.uncertain);
    let f = &i.functions[0];
    assert_eq!(
        f.log_group_resource.as_deref(),
        Some("aws_cloudwatch_log_group.lg")
    );
    assert_eq!(
        f.origin.locations["log_group"].span.start.line, 11,
        "{:?}",
        f.origin.locations
    );
}

/// `locals { l0 = "x", l1 = <each of local.l0>, ... }` up to `l<levels>`.
fn chain_of_locals(levels: usize, each: impl Fn(&str) -> String) -> String {
    let mut text = String::from("locals {\n  l0 = \"x\"\n");
    for i in 1..=levels {
        let line = each(&format!("local.l{}", i - 1));
        text.push_str(&format!("  l{i} = {line}\n"));
    }
    text.push_str("}\n");
    text
}

#[test]
fn chains_of_locals_are_evaluated_once_each() {
    // Each local refers to the one before three times, as label modules chain their context:
    // evaluated anew at each reference that is 3^40 steps, and the value was "too large".
    let text = chain_of_locals(40, |p| format!("{p} == {p} ? {p} : \"\""));
    assert_eq!(local_value(&text, "l40"), V::Str("x".into()));
}

#[test]
fn attributes_of_a_choice_of_objects_are_followed_into_each() {
    let i = inv(concat!(
        "variable \"prod\" {}\n",
        "resource \"aws_kms_key\" \"k\" {}\n",
        "locals {\n  cfg = var.prod ? { key = aws_kms_key.k.arn, size = 2 } : { key = aws_kms_key.k.arn, size = 1 }\n}\n",
        "resource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = local.cfg.key\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n",
    ));
    let k = &i.functions[0].kms_key;
    assert_eq!(k.state, KeyState::CustomerManaged, "{}", chain(k));
    assert_eq!(k.key.as_deref(), Some("aws_kms_key.k"));
}

#[test]
fn values_doubled_level_upon_level_stay_bounded() {
    // Each local is a list of two copies of the one before: 2^60 parts if built. Kept values
    // are copied at the cost of their size, so the step bound ends it.
    let text = chain_of_locals(60, |p| format!("[{p}, {p}]"));
    let v = local_value(&text, "l60");
    assert!(u64::from(v.size()) <= 2 * budget::MAX_WORK, "{}", v.size());
    assert!(!v.is_known());
    // Twenty levels (a million parts) are within the bound.
    assert!(local_value(&text, "l19").is_known());
}

#[test]
fn variable_types_fill_optional_attributes() {
    let key = |text: &str| {
        let i = inv(text);
        let k = i.functions[0].kms_key.clone();
        (k.state, chain(&k))
    };
    let f = "resource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = var.cfg.key\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n";
    // Left out, or set to null: the default of `optional`.
    for given in ["{}", "{ key = null }"] {
        let text = format!(
            "variable \"cfg\" {{\n  type = object({{ key = optional(string, \"alias/aws/lambda\") }})\n  default = {given}\n}}\n{f}"
        );
        assert_eq!(
            key(&text),
            (
                KeyState::AwsManaged,
                "kms_key_arn <- var.cfg <- default <- \"alias/aws/lambda\"".into()
            ),
            "{given}"
        );
    }
    // `optional` without a default: null, so no key.
    let text = format!(
        "variable \"cfg\" {{\n  type = object({{ key = optional(string), other = string }})\n  default = {{ other = \"x\" }}\n}}\n{f}"
    );
    assert_eq!(key(&text).0, KeyState::Absent);
    // Nested: the default of an optional object is converted too; a map's values each are.
    let text = concat!(
        "variable \"fns\" {\n  type = map(object({\n    logs = optional(object({ key = optional(string, \"alias/aws/lambda\") }), {})\n  }))\n",
        "  default = { a = {} }\n}\n",
        "resource \"aws_lambda_function\" \"f\" {\n  kms_key_arn = var.fns[\"a\"].logs.key\n  environment {\n    variables = { A = \"1\" }\n  }\n}\n",
    );
    assert_eq!(key(text).0, KeyState::AwsManaged);
    // An attribute the type does not declare is dropped, as Terraform drops it.
    let text = format!(
        "variable \"cfg\" {{\n  type = object({{ other = string }})\n  default = {{ other = \"x\", key = \"alias/aws/lambda\" }}\n}}\n{f}"
    );
    assert_eq!(key(&text).0, KeyState::Unknown);
    // A type that is not understood leaves the value as given.
    let text = format!(
        "variable \"cfg\" {{\n  type = any\n  default = {{ key = \"alias/aws/lambda\" }}\n}}\n{f}"
    );
    assert_eq!(key(&text).0, KeyState::AwsManaged);
}

#[test]
fn variable_types_in_json_syntax_are_strings() {
    let text = r#"{
  "variable": {"cfg": {"type": "object({key = optional(string, \"alias/aws/lambda\")})", "default": {}}},
  "resource": {"aws_lambda_function": {"f": {
    "kms_key_arn": "${var.cfg.key}",
    "environment": {"variables": {"A": "1"}}
  }}}
}"#;
    let node = crate::read::json::parse(text, &Limits::default())
        .unwrap()
        .root;
    let body = hcl::from_json(&node).unwrap();
    let m = Module {
        files: vec![(FileId::from("main.tf.json"), Arc::new(body))],
    };
    let (i, _) = inventory(&project(vec![m], &[], &[]));
    assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
}

#[test]
fn null_given_to_a_variable_that_is_not_nullable_is_its_default() {
    let root = module(&[(
        "main.tf",
        "module \"fn\" {\n  source = \"./fn\"\n  key = null\n}\n",
    )]);
    for (nullable, want) in [("false", KeyState::AwsManaged), ("true", KeyState::Absent)] {
        let text = concat!(
            "variable \"key\" {\n  default = \"alias/aws/lambda\"\n  nullable = NULLABLE\n}\n",
            "resource \"aws_lambda_function\" \"this\" {\n  kms_key_arn = var.key\n",
            "  environment {\n    variables = { A = \"1\" }\n  }\n}\n",
        )
        .replace("NULLABLE", nullable);
        let child = module(&[("fn/main.tf", &text)]);
        let (i, _) = inventory(&project(vec![root.clone(), child], &[(0, "fn", 1)], &[]));
        assert_eq!(i.functions[0].kms_key.state, want, "nullable = {nullable}");
    }
}

#[test]
fn splat_of_a_counted_resource_is_a_list_of_its_instances() {
    let key = |count: &str, expr: &str| {
        let text = format!(
            "resource \"aws_kms_key\" \"k\" {{\n  count = {count}\n}}\nresource \"aws_lambda_function\" \"f\" {{\n  kms_key_arn = {expr}\n  environment {{\n    variables = {{ A = \"1\" }}\n  }}\n}}\n"
        );
        inv(&text).functions[0].kms_key.state
    };
    for expr in [
        "one(aws_kms_key.k[*].arn)",
        "element(concat(aws_kms_key.k.*.arn, [\"\"]), 0)",
    ] {
        assert_eq!(key("1", expr), KeyState::CustomerManaged, "{expr}");
        // No instance: `one([])` is null and `element([""], 0)` empty, so no key.
        assert_eq!(key("0", expr), KeyState::Absent, "{expr}");
        // How many is not known: neither is the key.
        assert_eq!(key("var.n", expr), KeyState::Unknown, "{expr}");
    }
}
