use msal_runtime::msal_protected;

#[msal_protected(acrs = "c1")]
async fn handler() {}

fn main() {}
