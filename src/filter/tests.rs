use proptest::prelude::*;

use super::*;

fn golden() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/search/filters.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn filter_strings_parse_like_gnocchi() {
    // tests/golden/search/filters.json: the real Gnocchi's parser on
    // hand-written and generated queries (make_filter_cases.py).
    let doc = golden();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() > 500);
    for case in cases {
        let query = case["query"].as_str().unwrap();
        let parsed = string::parse(query);
        if case.get("parse_error").is_some() {
            assert!(parsed.is_err(), "{query:?} parsed as {parsed:?}");
            continue;
        }
        let raw = parsed.unwrap_or_else(|e| panic!("{query:?}: {e}"));
        let expected = Raw::from_serde(&case["parsed"]);
        assert_eq!(raw.to_json(), expected.to_json(), "{query:?}");
        let checked = Filter::from_raw(&raw, "admin");
        if case.get("invalid").is_some() {
            assert!(checked.is_err(), "{query:?} accepted as {checked:?}");
            continue;
        }
        let validated = Filter::from_raw(&Raw::from_serde(&case["validated"]), "admin").unwrap();
        assert_eq!(checked.unwrap(), validated, "{query:?}");
    }
}

#[test]
fn spec_examples() {
    let parse = |q: &str| string::parse(q).unwrap().to_json().to_python_string();
    assert_eq!(
        parse(r#"host like "compute%""#),
        r#"{"like": {"host": "compute%"}}"#
    );
    assert_eq!(
        parse("a = 1 and b = 2 or c = 3"),
        r#"{"or": [{"=": {"c": 3.0}}, {"and": [{"=": {"b": 2.0}}, {"=": {"a": 1.0}}]}]}"#
    );
    let err = Filter::parse_query("id == foobar", "admin").unwrap_err();
    assert!(err.to_string().starts_with("Invalid filter: "), "{err}");
    let filter = Filter::parse_query(r#"id = foobar"#, "admin")
        .unwrap()
        .unwrap();
    assert_eq!(
        filter.to_raw().to_json().to_python_string(),
        r#"{"=": {"id": "b4d568e4-7af1-5aec-ac3f-9c09fa3685a9"}}"#
    );
    let json = Filter::parse_query(r#"{"in": {"id": ["foobar"]}}"#, "admin").unwrap();
    assert_eq!(
        json,
        Some(Filter::In {
            attribute: "id".into(),
            values: vec![Value::Str("b4d568e4-7af1-5aec-ac3f-9c09fa3685a9".into())],
        })
    );
    assert_eq!(Filter::parse_query("{}", "admin").unwrap(), None);
    assert_eq!(
        Filter::parse_query(r#"{"and": [{}]}"#, "admin").unwrap_err(),
        FilterError::Empty
    );
    let err = Filter::parse_query(r#"{"like": {"id": "x%"}}"#, "admin").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid input: value must not be one of ['id'] @ data['like']['id']"
    );
    let err = Filter::parse_query(r#"{"=": {"a": 1}, "<": {"b": 2}}"#, "admin").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid input: length of value must be at most 1 @ data"
    );
    assert!(Filter::parse_query(r#"{"="#, "admin").is_err());
}

#[test]
fn nesting_stops_at_the_limit_in_every_form() {
    let nots = |depth: usize| format!("{}host = 1", "not ".repeat(depth));
    let parens = |depth: usize| format!("{}host = 1{}", "(".repeat(depth), ")".repeat(depth));
    let lists = |depth: usize| format!("id in {}1{}", "[".repeat(depth), "]".repeat(depth));
    for (form, nested) in [("not ", &nots as &dyn Fn(usize) -> String), ("(", &parens)] {
        let at_limit = string::parse(&nested(MAX_DEPTH)).unwrap();
        let checked = Filter::from_raw(&at_limit, "admin");
        assert!(checked.is_ok(), "{form}: {checked:?}");
        let at = MAX_DEPTH * form.len();
        assert_eq!(
            string::parse(&nested(MAX_DEPTH + 1)),
            Err(FilterError::TooDeep { at: Some(at) }),
            "{form}"
        );
        // Far past any stack, were the parser recursive.
        assert!(string::parse(&nested(200_000)).is_err(), "{form}");
    }
    assert!(string::parse(&lists(MAX_DEPTH)).is_ok());
    assert_eq!(
        string::parse(&lists(MAX_DEPTH + 1)),
        Err(FilterError::TooDeep {
            at: Some(6 + MAX_DEPTH)
        })
    );
    assert!(string::parse(&lists(200_000)).is_err());

    let json = |depth: usize| {
        format!(
            "{}{{\"=\": {{\"host\": 1}}}}{}",
            "{\"not\": ".repeat(depth),
            "}".repeat(depth)
        )
    };
    assert!(Filter::parse_query(&json(MAX_DEPTH), "admin").is_ok());
    assert_eq!(
        Filter::parse_query(&json(MAX_DEPTH + 1), "admin"),
        Err(FilterError::TooDeep { at: None })
    );
    assert!(matches!(
        Filter::parse_query(&json(100_000), "admin"),
        Err(FilterError::Json(_))
    ));
    assert_eq!(
        FilterError::TooDeep { at: Some(3) }.to_string(),
        format!("Invalid filter: nested deeper than {MAX_DEPTH} levels (at char 3)")
    );
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e12f64..1e12).prop_map(Value::Float),
        "[a-zA-Z0-9 %_.:'-]{0,12}".prop_map(Value::Str),
    ]
}

/// Attribute names; not `id`, whose values are mapped to UUIDs and so do
/// not read back as written.
fn attribute() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,8}",
        "[a-z ]{1,6}",
        Just("notes".to_owned())
    ]
    // `id` values are mapped to UUIDs, so they do not read back as written.
    .prop_filter("not id", |a| a != "id")
}

fn filter() -> impl Strategy<Value = Filter> {
    let op = prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
    ];
    let leaf = prop_oneof![
        (op, attribute(), value()).prop_map(|(op, attribute, value)| Filter::Compare {
            op,
            attribute,
            value
        }),
        (attribute(), value()).prop_map(|(attribute, pattern)| Filter::Like { attribute, pattern }),
        (attribute(), prop::collection::vec(value(), 1..4))
            .prop_map(|(attribute, values)| Filter::In { attribute, values }),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #[test]
    fn filter_strings_read_back(filter in filter()) {
        // parse ∘ print = id, for every filter the string syntax can say.
        if let Some(text) = filter.to_filter_string() {
            let back = Filter::parse_query(&text, "admin");
            prop_assert_eq!(back, Ok(Some(filter.clone())), "{}", text);
        }
    }

    #[test]
    fn json_filters_read_back(filter in filter()) {
        let text = filter.to_raw().to_json().to_python_string();
        prop_assert_eq!(Filter::parse_query(&text, "admin"), Ok(Some(filter)));
    }

    #[test]
    fn parsers_never_panic(text in "\\PC{0,40}") {
        let _ = Filter::parse_query(&text, "admin");
    }

    #[test]
    fn filter_like_text_never_panics(text in "[a-z0-9 ()=<>!'\"\\[\\],.:%-]{0,40}|(not |and |or |∧ |∨ )+") {
        let _ = string::parse(&text);
    }
}
