use msal_runtime::msal_protected;

#[msal_protected(app_permissions = "Tasks.ReadWrite.All", auth_context = "c1")]
async fn handler() {}

fn main() {}
