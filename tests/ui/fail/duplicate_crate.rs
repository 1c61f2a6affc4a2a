use msal_runtime::msal_protected;

#[msal_protected(crate = "msal_runtime", crate = "msal_runtime")]
async fn handler() {}

fn main() {}
