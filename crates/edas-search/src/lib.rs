//! `edas-search`: The clamped-variable optimizer (EDAS) and the DARTS, GDAS and random baselines.
//!
//! Not built yet: see the project's issues and `docs/` for what lands here.
