use msal_runtime::msal_protected;

#[msal_protected(auth_context = "c1 c2 c1")]
async fn handler() {}

fn main() {}
