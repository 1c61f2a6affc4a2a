use msal_runtime::msal_protected;

// `crate` is a module path: generic arguments name no crate (and once broke the expansion).
#[msal_protected(roles = "Admin", crate = "msal::<T>")]
async fn handler() {}

fn main() {}
