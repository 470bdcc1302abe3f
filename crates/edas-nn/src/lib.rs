//! `edas-nn`: Burn ops, cells, the EDAS search supernet and the discrete CIFAR/ImageNet networks.
//!
//! Not built yet: see the project's issues and `docs/` for what lands here.
