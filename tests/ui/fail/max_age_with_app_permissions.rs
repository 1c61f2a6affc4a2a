use msal_runtime::msal_protected;

#[msal_protected(app_permissions = "Tasks.Read.All", max_age = "10m")]
async fn handler() {}

fn main() {}
