//! `edas-data`: CIFAR-10/100, ImageNet-folder and IDX loaders, augmentation and search splits.
//!
//! Not built yet: see the project's issues and `docs/` for what lands here.
