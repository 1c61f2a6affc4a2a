async fn h(_: ::msal_runtime::__private::Guard<14388662434678259848>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 14388662434678259848,
        rule: ::msal_runtime::__private::Rule::All(
            &[
                ::msal_runtime::__private::Rule::Scopes(&["Tasks.Write"]),
                ::msal_runtime::__private::Rule::AuthContext(&["c1", "c2"]),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
