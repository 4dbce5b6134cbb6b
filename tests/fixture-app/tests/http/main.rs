//! HTTP tests of the routing conventions against the fixture app on a real server
//! (`127.0.0.1:0`).

mod helpers;

mod conventions;
mod csrf;
mod errors;
mod methods;
mod serving;
