//! The configs shipped in the checkout's `configs/search` and
//! `configs/train`, embedded at build time (`build.rs`), so that an
//! installed `edas` finds them by name: `--config cifar100-edas`, and
//! `edas config list|show|write`.

include!(concat!(env!("OUT_DIR"), "/shipped_configs.rs"));

/// The shipped config that `name` names for a `kind` run (`search` or
/// `train`): `cifar100-edas`, `search/cifar100-edas` or
/// `configs/search/cifar100-edas.toml`. Returns its full name and text.
pub fn find(kind: &str, name: &str) -> Option<(&'static str, &'static str)> {
    let n = name.trim_start_matches("./");
    let n = n.strip_prefix("configs/").unwrap_or(n);
    let n = n.strip_suffix(".toml").unwrap_or(n);
    let full = if n.contains('/') {
        n.to_owned()
    } else {
        format!("{kind}/{n}")
    };
    SHIPPED.iter().copied().find(|(k, _)| *k == full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_config_is_embedded_and_found_by_name() {
        let on_disk = |kind: &str| {
            std::fs::read_dir(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/").to_owned() + kind,
            )
            .map_or(0, |d| d.count())
        };
        let count = |kind: &str| SHIPPED.iter().filter(|(k, _)| k.starts_with(kind)).count();
        assert_eq!(count("search/"), on_disk("search"));
        assert_eq!(count("train/"), on_disk("train"));
        assert!(count("search/") >= 24);
        let (name, text) = find("search", "cifar100-edas").unwrap_or(("", ""));
        assert_eq!(name, "search/cifar100-edas");
        assert!(text.contains("cifar100"));
        assert_eq!(
            find("train", "configs/train/cifar10.toml").map(|c| c.0),
            Some("train/cifar10")
        );
        assert_eq!(
            find("search", "train/cifar10").map(|c| c.0),
            Some("train/cifar10")
        );
        assert!(find("search", "nonexistent").is_none());
    }
}
