//! The Grafana dashboard and the alert rules ask only for metrics the server records.

use std::path::Path;

/// Every metric name a PromQL text mentions (without histogram suffixes).
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let starts = rest.starts_with("flaskpaste_") || rest.starts_with("http_server_");
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts && boundary {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            i += name.len();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name)
                .to_owned();
            names.push(base);
        } else {
            i += 1;
        }
    }
    names.sort();
    names.dedup();
    names
}

fn sources(dir: &Path, found: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_metric_on_the_dashboard_and_in_the_alerts_is_recorded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    sources(&root.join("src"), &mut code);
    sources(&root.join("actors/src"), &mut code);
    let dashboard =
        std::fs::read_to_string(root.join("grafana/dashboards/flaskpaste.json")).unwrap();
    let alerts = std::fs::read_to_string(root.join("grafana/alerts.yml")).unwrap();

    let names = metric_names(&format!("{dashboard}\n{alerts}"));

    assert!(names.len() >= 25, "{names:?}");
    for name in names {
        assert!(
            code.contains(&format!("\"{name}\"")),
            "{name} is not recorded anywhere"
        );
    }
}
