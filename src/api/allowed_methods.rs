//! Which methods each documented path answers, so that a request with another method on a
//! known path is a 405 with an `Allow` header instead of a 404.

use utoipa::openapi::OpenApi;

/// The documented paths as templates (`/api/v1/periods/{id}/lock`) with their methods.
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, Vec<&'static str>)>,
}

impl AllowedMethods {
    pub fn from_document(document: &OpenApi) -> AllowedMethods {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (segments(path).map(str::to_string).collect(), methods)
            })
            .collect();
        AllowedMethods { routes }
    }

    /// The `Allow` header value for `path`, if a documented path matches it. Where several
    /// match, the most literal wins, as in routing: `…/{period}/template` over
    /// `…/{period}/{transition}`.
    pub fn for_path(&self, path: &str) -> Option<String> {
        let requested: Vec<&str> = segments(path).collect();
        let matching: Vec<&(Vec<String>, Vec<&'static str>)> = self
            .routes
            .iter()
            .filter(|(template, _)| matches(template, &requested))
            .collect();
        let most_literal = matching
            .iter()
            .map(|(template, _)| literals(template))
            .max()?;
        let mut allowed: Vec<&str> = matching
            .into_iter()
            .filter(|(template, _)| literals(template) == most_literal)
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        (!allowed.is_empty()).then(|| allowed.join(", "))
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

fn literals(template: &[String]) -> usize {
    template
        .iter()
        .filter(|segment| !segment.starts_with('{'))
        .count()
}

fn matches(template: &[String], requested: &[&str]) -> bool {
    template.len() == requested.len()
        && template.iter().zip(requested).all(|(expected, actual)| {
            expected == actual || (expected.starts_with('{') && expected.ends_with('}'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_give_their_methods_and_others_none() {
        let allowed = AllowedMethods::from_document(&crate::api::openapi_document());
        assert_eq!(
            allowed.for_path("/api/v1/indicators").as_deref(),
            Some("GET, POST")
        );
        assert_eq!(
            allowed.for_path("/api/v1/indicators/NAT-A01").as_deref(),
            Some("GET, PUT")
        );
        assert_eq!(
            allowed.for_path("/api/v1/periods/2026H1/lock").as_deref(),
            Some("POST")
        );
        assert_eq!(
            allowed
                .for_path("/api/v1/regions/07/reports/2026H1/template")
                .as_deref(),
            Some("GET"),
            "the literal path wins over the transition's"
        );
        assert_eq!(
            allowed
                .for_path("/api/v1/regions/07/reports/2026H1/submit")
                .as_deref(),
            Some("POST")
        );
        assert_eq!(allowed.for_path("/api/v1/nothing"), None);
        assert_eq!(allowed.for_path("/api/v1/periods/2026H1/lock/more"), None);
    }
}
