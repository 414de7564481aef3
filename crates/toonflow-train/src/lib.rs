//! Training for toonflow: dataset preparation, augmentation (on the host, from a serializable
//! random generator, so runs resume exactly), adaptive discriminator augmentation, and the
//! resumable training loops of the photo-to-comic GAN and the DCGAN.

pub mod ada;
pub mod augment;
pub mod dcgan;
pub mod imageset;
pub mod photo2comic;
pub mod prepare;
pub mod rng;
pub mod run;
pub mod samples;
