async fn h(_: ::msal_runtime::__private::Guard<7378096996138646329>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 7378096996138646329,
        rule: ::msal_runtime::__private::Rule::Check(
            &::msal_runtime::__private::Check {
                name: "documents::owns_document",
                run: {
                    fn __msal_check<'a>(
                        user: &'a ::msal_runtime::__private::User,
                        parts: &'a mut ::msal_runtime::__private::Parts,
                    ) -> ::msal_runtime::__private::CheckFuture<'a> {
                        ::std::boxed::Box::pin(async move {
                            ::msal_runtime::__private::check_outcome(
                                documents::owns_document(user, parts).await,
                            )
                        })
                    }
                    __msal_check
                },
            },
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
