use msal_runtime::{Protection, msal_rule};

fn take(_: Protection) {}

fn main() {
    // Only the rule's own errors: nothing about the expression it stands for, nor about the
    // code after it.
    let protection = msal_rule!(max_age = "10");
    take(protection);
    take(msal_rule!(roles = "", on_denied = "denied"));
    let _: Protection = msal_rule!(scope = "User.Read");
}
