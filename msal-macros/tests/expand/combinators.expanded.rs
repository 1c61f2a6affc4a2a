async fn h(_: ::msal_runtime::__private::Guard<17096234477775975047>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 17096234477775975047,
        rule: ::msal_runtime::__private::Rule::Any(
            &[
                ::msal_runtime::__private::Rule::Roles(&["Admin"]),
                ::msal_runtime::__private::Rule::All(
                    &[
                        ::msal_runtime::__private::Rule::Scopes(&["Tasks.Read"]),
                        ::msal_runtime::__private::Rule::Not(
                            &::msal_runtime::__private::Rule::Roles(&["Guest"]),
                        ),
                    ],
                ),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
