mod alloc_probe;
mod fixtures;
mod hostile;
mod intake;
mod prechecks;
