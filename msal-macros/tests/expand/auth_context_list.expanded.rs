async fn h(_: ::msal_runtime::__private::Guard<10110082556469208454>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 10110082556469208454,
        rule: ::msal_runtime::__private::Rule::Any(
            &[
                ::msal_runtime::__private::Rule::Roles(&["Admin"]),
                ::msal_runtime::__private::Rule::AuthContext(&["c1", "c25"]),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
