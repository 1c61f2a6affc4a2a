use msal_runtime::msal_protected;

#[msal_protected(max_age = "")]
async fn handler() {}

#[msal_protected(max_age = "  ")]
async fn blank() {}

fn main() {}
