use msal_runtime::msal_protected;

#[msal_protected(max_age = ["10m"])]
async fn handler() {}

fn main() {}
