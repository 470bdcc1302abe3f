//! `edas-train`: Training and evaluation of discrete networks from scratch; shared run machinery.
//!
//! Not built yet: see the project's issues and `docs/` for what lands here.
