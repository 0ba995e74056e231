//! What Palaver's integration tests (`server/tests`) and load tests (`bench`) share: the
//! real server binary as a child process, plain HTTP/1.1 requests, latency stamps, and
//! readings of a process's memory and CPU from `/proc`, and
//! PostgreSQL, Redis and nginx servers and a Web Push service of a test's own. Dev-only: never in the server.

pub mod http;
pub mod nginx;
pub mod objects;
pub mod pictures;
pub mod process;
pub mod push;
pub mod services;
pub mod stamp;
