use msal_runtime::msal_protected;

#[msal_protected(any(role = "Admin", groups = "g"))]
async fn handler() {}

fn main() {}
