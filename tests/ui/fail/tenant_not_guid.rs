use msal_runtime::msal_protected;

#[msal_protected(tenants = "contoso.onmicrosoft.com")]
async fn handler() {}

fn main() {}
