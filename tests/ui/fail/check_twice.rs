use msal_runtime::msal_protected;

async fn owns(_: &msal_runtime::User, _: &mut axum::http::request::Parts) -> Result<bool, msal_runtime::CheckError> {
    Ok(true)
}

#[msal_protected(check = owns, any(roles = "A", check = owns), check = owns)]
async fn handler() {}

fn main() {}
