use msal_runtime::msal_protected;

#[msal_protected(all(groups = "a", groups = "b"))]
async fn handler() {}

fn main() {}
