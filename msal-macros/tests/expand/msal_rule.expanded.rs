fn router() {
    let protection = {
        #[::my_msal::__private::linkme::distributed_slice(
            ::my_msal::__private::PROTECTED
        )]
        #[linkme(crate = ::my_msal::__private::linkme)]
        static __MSAL_RULE: ::my_msal::__private::Protected = ::my_msal::__private::Protected {
            id: 7103745940145907096,
            rule: ::my_msal::__private::Rule::All(
                &[
                    ::my_msal::__private::Rule::Roles(&["Admin"]),
                    ::my_msal::__private::Rule::MaxAge(3600),
                    ::my_msal::__private::Rule::Any(
                        &[
                            ::my_msal::__private::Rule::Acr(&["phr"]),
                            ::my_msal::__private::Rule::Check(
                                &::my_msal::__private::Check {
                                    name: "owns",
                                    run: {
                                        fn __msal_check<'a>(
                                            user: &'a ::my_msal::__private::User,
                                            parts: &'a mut ::my_msal::__private::Parts,
                                        ) -> ::my_msal::__private::CheckFuture<'a> {
                                            ::std::boxed::Box::pin(async move {
                                                ::my_msal::__private::check_outcome(owns(user, parts).await)
                                            })
                                        }
                                        __msal_check
                                    },
                                },
                            ),
                        ],
                    ),
                ],
            ),
            on_denied: ::core::option::Option::Some({
                fn __msal_on_denied(
                    rejection: ::my_msal::__private::AuthRejection,
                ) -> ::my_msal::__private::Response {
                    ::my_msal::__private::IntoResponse::into_response(
                        pages::denied(rejection),
                    )
                }
                __msal_on_denied
            }),
            handler: "",
            module: ::core::module_path!(),
        };
        ::my_msal::__private::Protection::new(&__MSAL_RULE)
    };
}
