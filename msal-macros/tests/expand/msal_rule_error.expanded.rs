fn router() {
    let protection = {
        ::core::compile_error! {
            "\"10\" has no unit: write \"10m\" for minutes or \"10s\" for seconds"
        }
        ::core::compile_error! {
            "unknown key `acrs`; did you mean `auth_context`?"
        }
        fn __msal_refused() -> ::msal_runtime::__private::Protection {
            ::core::unreachable!()
        }
        __msal_refused()
    };
}
