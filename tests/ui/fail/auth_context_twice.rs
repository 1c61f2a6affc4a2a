use msal_runtime::msal_protected;

#[msal_protected(scopes = "Tasks.Write", auth_context = "c1", auth_context = "c2")]
async fn handler() {}

fn main() {}
