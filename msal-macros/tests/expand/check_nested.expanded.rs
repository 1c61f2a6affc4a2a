async fn h(_: ::msal_runtime::__private::Guard<6356245224214873400>) {
    #[::msal_runtime::__private::linkme::distributed_slice(
        ::msal_runtime::__private::PROTECTED
    )]
    #[linkme(crate = ::msal_runtime::__private::linkme)]
    static __MSAL_PROTECTED: ::msal_runtime::__private::Protected = ::msal_runtime::__private::Protected {
        id: 6356245224214873400,
        rule: ::msal_runtime::__private::Rule::All(
            &[
                ::msal_runtime::__private::Rule::MaxAge(600),
                ::msal_runtime::__private::Rule::Any(
                    &[
                        ::msal_runtime::__private::Rule::Roles(&["Admin"]),
                        ::msal_runtime::__private::Rule::Check(
                            &::msal_runtime::__private::Check {
                                name: "owns::<Document>",
                                run: {
                                    fn __msal_check<'a>(
                                        user: &'a ::msal_runtime::__private::User,
                                        parts: &'a mut ::msal_runtime::__private::Parts,
                                    ) -> ::msal_runtime::__private::CheckFuture<'a> {
                                        ::std::boxed::Box::pin(async move {
                                            ::msal_runtime::__private::check_outcome(
                                                owns::<Document>(user, parts).await,
                                            )
                                        })
                                    }
                                    __msal_check
                                },
                            },
                        ),
                    ],
                ),
                ::msal_runtime::__private::Rule::Not(
                    &::msal_runtime::__private::Rule::Check(
                        &::msal_runtime::__private::Check {
                            name: "::app::is_archived",
                            run: {
                                fn __msal_check<'a>(
                                    user: &'a ::msal_runtime::__private::User,
                                    parts: &'a mut ::msal_runtime::__private::Parts,
                                ) -> ::msal_runtime::__private::CheckFuture<'a> {
                                    ::std::boxed::Box::pin(async move {
                                        ::msal_runtime::__private::check_outcome(
                                            ::app::is_archived(user, parts).await,
                                        )
                                    })
                                }
                                __msal_check
                            },
                        },
                    ),
                ),
            ],
        ),
        on_denied: ::core::option::Option::None,
        handler: "h",
        module: ::core::module_path!(),
    };
}
