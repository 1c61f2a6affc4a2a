use msal_runtime::msal_protected;

#[msal_protected(max_age = "10")]
async fn handler() {}

#[msal_protected(max_age = "1h30")]
async fn last_part() {}

fn main() {}
