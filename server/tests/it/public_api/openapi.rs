//! The OpenAPI document: valid, matching the routes and the answers.

use super::*;

on_both_databases!(the_openapi_document_is_valid_and_matches_the_routes,);

/// The document at `/v1/openapi.json` (generated from the handlers) is a valid OpenAPI 3.1 document whose `$ref`s resolve; every
/// documented operation is routed (not 404/405) and every other method on those paths is 405;
/// the documented schemas' required fields are in real answers.
async fn the_openapi_document_is_valid_and_matches_the_routes(b: Backend) {
    let (w, key, id) = with_account(b).await;
    let r = api(&w.app.base, "GET", "/v1/openapi.json", "", None).await;
    assert_eq!(r.status, 200, "served without a key");
    let doc: Value = r.json();
    let parsed: utoipa::openapi::OpenApi = serde_json::from_value(doc.clone()).expect("a valid OpenAPI 3.1 document");
    assert!(matches!(parsed.openapi, utoipa::openapi::OpenApiVersion::Version31));
    assert_eq!(doc["components"]["securitySchemes"]["apiKey"]["scheme"], "bearer");

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap().to_owned());
                    } else {
                        refs(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = vec![];
    refs(&doc, &mut all);
    for r in &all {
        let pointer = r.strip_prefix('#').expect("local refs only");
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }

    let methods = ["get", "post", "put", "patch", "delete"];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", "xac_00000000000000000000000000000000");
        for m in methods {
            let r = api(&w.app.base, &m.to_uppercase(), &concrete, &key, None).await;
            if item.get(m).is_some() {
                documented.insert(format!("{m} {path}"));
                assert_ne!(r.status, 405, "{m} {path} is documented but not routed");
                assert!(
                    !(r.status == 404 && error_message(&r).contains("No such endpoint")),
                    "{m} {path} is documented but not routed"
                );
            } else {
                assert_eq!(r.status, 405, "{m} {path} is routed but not documented: {}", r.body);
            }
        }
    }
    let expected: BTreeSet<String> = [
        "get /v1/openapi.json",
        "get /v1/brands",
        "post /v1/brands",
        "get /v1/accounts",
        "post /v1/accounts/connect",
        "delete /v1/accounts/{id}",
        "post /v1/posts",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(documented, expected);
    let unknown = api(&w.app.base, "GET", "/v1/nothing-here", &key, None).await;
    assert_eq!((unknown.status, error_code(&unknown)), (404, "not_found".to_owned()));

    // Real answers carry the documented required fields.
    let required = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let brand =
        api(&w.app.base, "POST", "/v1/brands", &key, Some(json!({ "name": "Docs" }))).await.json()["data"].clone();
    let account = account(&w.app.base, &key, &id).await;
    let link =
        api(&w.app.base, "POST", "/v1/accounts/connect", &key, Some(json!({ "platform": "twitter" }))).await.json();
    let post = post(&w.app.base, &key, &id, "Documented").await.json()["data"].clone();
    let error = api(&w.app.base, "GET", "/v1/brands", "", None).await.json();
    for (schema, value) in
        [("Brand", &brand), ("Account", &account), ("ConnectLink", &link), ("Post", &post), ("Error", &error)]
    {
        for field in required(schema) {
            assert!(value.get(&field).is_some(), "{schema} lacks {field}: {value}");
        }
        if let Some(props) = doc["components"]["schemas"][schema]["properties"].as_object() {
            for key in value.as_object().unwrap().keys() {
                assert!(props.contains_key(key), "{schema}.{key} is not documented");
            }
        }
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    for code in [
        "invalid_api_key",
        "byok_credentials_missing",
        "needs_reconnection",
        "missing_scopes",
        "rate_limited",
        "x_unavailable",
        "not_found",
    ] {
        assert!(codes.contains(&json!(code)), "{code} is documented");
    }
}
