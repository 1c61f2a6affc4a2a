use msal_runtime::msal_protected;

// A path nested past 64 tokens (found by fuzzing: thousands of `<` or `&` overflowed the
// compiler's stack inside syn): refused before it is parsed, and the next item still reads.
#[msal_protected(
    check = docs::owns::<&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&Document>,
    roles = 5
)]
async fn handler() {}

fn main() {}
