use msal_runtime::msal_protected;

// Seventeen levels of any(...): one more than the DSL takes.
#[msal_protected(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
any(
roles = "Admin"
)))))))))))))))))
)]
async fn handler() {}

fn main() {}
