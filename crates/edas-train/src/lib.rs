//! `edas-train`: training and evaluation of discrete networks from scratch,
//! and the run machinery that search and training share.
//!
//! In place so far: the DARTS weight optimiser set up as PyTorch behaves
//! ([`optim`]: SGD without dampening, global-norm clipping, cosine schedule).
//! Training, evaluation, run directories and checkpoints are issue 6.

pub mod optim;
