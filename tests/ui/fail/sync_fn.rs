use msal_runtime::msal_protected;

#[msal_protected]
fn handler() {}

fn main() {}
