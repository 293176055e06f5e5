//! Generates the bindings of `siteproof-ffi` from the built library (uniffi library mode).
//!
//! ```text
//! uniffi-bindgen <library> <out-dir> <kotlin|swift|python>...
//! ```
//!
//! Each language goes into `<out-dir>/<language>/`. The configuration (package and module
//! names) is `ffi/uniffi.toml`, found through `cargo metadata`.

use anyhow::{Context, bail};
use camino::Utf8PathBuf;
use uniffi_bindgen::bindings::{GenerateOptions, TargetLanguage, generate};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: uniffi-bindgen <library> <out-dir> <kotlin|swift|python>...";
    let source = Utf8PathBuf::from(args.next().context(usage)?);
    let out_dir = Utf8PathBuf::from(args.next().context(usage)?);
    let languages: Vec<String> = args.collect();
    if languages.is_empty() {
        bail!("{usage}");
    }
    for name in languages {
        let language = match name.as_str() {
            "kotlin" => TargetLanguage::Kotlin,
            "swift" => TargetLanguage::Swift,
            "python" => TargetLanguage::Python,
            other => bail!("unknown language {other:?}; {usage}"),
        };
        generate(GenerateOptions {
            languages: vec![language],
            source: source.clone(),
            out_dir: out_dir.join(&name),
            config_override: None,
            format: false,
            crate_filter: Some("siteproof_ffi".into()),
            metadata_no_deps: false,
        })
        .with_context(|| format!("generating {name} bindings"))?;
    }
    Ok(())
}
