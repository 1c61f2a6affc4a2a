use msal_runtime::msal_protected;

#[msal_protected(app_permissions = "Tasks.Read.All", acr = "phr")]
async fn handler() {}

fn main() {}
