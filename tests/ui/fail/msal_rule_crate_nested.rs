use msal_runtime::{Protection, msal_rule};

fn main() {
    let _: Protection = msal_rule!(any(roles = "Admin", crate = "::msal_runtime"));
}
