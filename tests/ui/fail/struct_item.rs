use msal_runtime::msal_protected;

#[msal_protected(roles = "Admin")]
struct Handler;

fn main() {}
