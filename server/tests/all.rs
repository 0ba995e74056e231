//! Every integration test of the server, in one test binary: the tests share one build
//! of the server and its dependencies instead of each file linking its own, and cargo
//! runs them side by side. Each file is a module, named as before (`cargo test -p
//! server --test all cluster::` runs the several-node tests alone).

#[macro_use]
mod common;

mod accounts;
mod chat;
mod cluster;
mod costly;
mod files;
mod hardening;
mod previews;
mod proxy;
mod push;
mod requests;
mod rooms;
