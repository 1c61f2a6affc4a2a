use msal_runtime::msal_protected;

#[msal_protected(not(roles = "A", groups = "B"))]
async fn handler() {}

fn main() {}
