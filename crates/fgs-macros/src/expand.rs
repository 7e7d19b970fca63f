//! The expansions. Each function takes the attribute's arguments and the item and returns
//! the code; on any error it returns every error plus a version of the item that still
//! compiles, so the user sees the real problems rather than a cascade.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned as _;
use syn::{FnArg, ForeignItemFn, ItemTrait, Pat, ReceiverKind, ReturnType, Signature, TraitItem, TraitItemFn, Type};

use crate::options::{self, Errors, Options, Output, Target};

/// `#[fgs_function(...)]` on a bodiless `async fn`.
pub fn function(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let item: ForeignItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let message = match syn::parse2::<syn::ItemFn>(item.clone()) {
                Ok(with_body) => {
                    return error_with_item(
                        syn::Error::new(
                            with_body.block.span(),
                            "a stub has no body: end the signature with `;` and the macro writes the call",
                        ),
                        quote!(#with_body),
                    );
                }
                Err(_) => "#[fgs_function] goes on an `async fn` without a body, or use #[fgs_functions] on a trait",
            };
            return error_with_item(syn::Error::new(Span::call_site(), message), item);
        }
    };
    let options = options::parse(args, &mut errors, item.sig.ident.span());
    let shape = check_free_signature(&item.sig, &mut errors);
    let krate = options.krate();
    let spec = spec(&options, &mut errors);
    let attrs = &item.attrs;
    let vis = &item.vis;
    let sig = &item.sig;
    match (errors.is_empty(), shape, spec) {
        (true, Some(shape), Some(spec)) => {
            let call = call(&krate, &options, &spec, &shape.client, shape.input.as_ref());
            quote! {
                #(#attrs)*
                #vis #sig {
                    #call
                }
            }
        }
        _ => {
            let errors = errors.to_compile_errors();
            quote! {
                #errors
                #(#attrs)*
                #[allow(unused_variables)]
                #vis #sig {
                    ::core::panic!("#[fgs_function] has errors")
                }
            }
        }
    }
}

/// `#[fgs_functions]` on a trait whose methods carry `#[function(...)]`.
///
/// With errors, the output is still the whole interface (the trait with async-trait, the
/// `{Trait}Client` and its impl, with a panicking body for each method that has errors),
/// so that code using the trait or the client sees no further errors.
pub fn functions(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut item: ItemTrait = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            return error_with_item(
                syn::Error::new(
                    Span::call_site(),
                    "#[fgs_functions] goes on a trait whose methods are the functions",
                ),
                item,
            );
        }
    };
    let krate = options::krate_tokens(options::parse_trait_args(args, &mut errors).as_ref());
    let generic = !item.generics.params.is_empty();
    if generic {
        errors.push_spanned(&item.generics, "a functions trait cannot be generic");
    }
    item.items.retain(|trait_item| {
        let is_fn = matches!(trait_item, TraitItem::Fn(_));
        if !is_fn {
            // Dropped from the output, so that the client's impl does not miss it too.
            errors.push_spanned(
                trait_item,
                "a functions trait holds only `async fn` methods, one per function",
            );
        }
        is_fn
    });
    let methods: Vec<TokenStream> = item
        .items
        .iter_mut()
        .filter_map(|trait_item| match trait_item {
            TraitItem::Fn(method) => Some(method_body(method, &krate, &mut errors)),
            _ => None,
        })
        .collect();
    let errors = errors.to_compile_errors();
    let client = trait_and_client(&mut item, &krate, &methods, !generic);
    quote! {
        #errors
        #client
    }
}

/// One method of the client: the call, or (if this method has errors, which are added to
/// `errors`) a body that panics, with the same signature so the impl still matches the
/// trait. Removes the method's `#[function(...)]` attribute.
fn method_body(method: &mut TraitItemFn, krate: &TokenStream, errors: &mut Errors) -> TokenStream {
    let errors_before = errors.len();
    if let Some(body) = &method.default {
        errors.push_spanned(
            body,
            "a function method has no body: the generated client writes the call",
        );
    }
    let attr = take_function_attr(method, errors);
    let call = attr.and_then(|attr| method_call(&attr, &method.sig, krate, errors));
    let sig = &method.sig;
    match call {
        Some(call) if errors.len() == errors_before => quote! {
            #sig {
                #call
            }
        },
        _ => quote! {
            #[allow(unused_variables)]
            #sig {
                ::core::panic!("#[fgs_functions] has errors")
            }
        },
    }
}

/// Removes the method's `#[function(...)]` attributes and returns the one there must be.
fn take_function_attr(method: &mut TraitItemFn, errors: &mut Errors) -> Option<syn::Attribute> {
    let mut function_attrs = Vec::new();
    method.attrs.retain(|attr| {
        let is_function = attr.path().is_ident("function");
        if is_function {
            function_attrs.push(attr.clone());
        }
        !is_function
    });
    match <[syn::Attribute; 1]>::try_from(function_attrs) {
        Ok([attr]) => Some(attr),
        Err(attrs) => {
            let span = attrs.get(1).map_or(method.sig.ident.span(), |a| a.span());
            errors.push(
                span,
                "each method needs exactly one `#[function(...)]` naming its function",
            );
            None
        }
    }
}

/// The call a method's `#[function(...)]` describes, if its options and signature are right.
fn method_call(
    attr: &syn::Attribute,
    sig: &Signature,
    krate: &TokenStream,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let args = match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    };
    let mut options = options::parse(args, errors, attr.span());
    if options.krate.is_some() {
        errors.push(attr.span(), "`crate` goes on #[fgs_functions], not on a method");
    }
    options.krate = None;
    let shape = check_method_signature(sig, errors);
    let spec = spec(&options, errors)?;
    let client = quote!(&self.client);
    Some(call(krate, &options, &spec, &client, shape?.input.as_ref()))
}

/// The trait (async-trait, `Send + Sync`), `{Trait}Client`, and (unless the trait is
/// generic, which is an error) the client's impl of the trait with `methods`.
fn trait_and_client(
    item: &mut ItemTrait,
    krate: &TokenStream,
    methods: &[TokenStream],
    with_impl: bool,
) -> TokenStream {
    let async_trait = quote!(#krate::__private::async_trait);
    let trait_name = item.ident.clone();
    let client_name = format_ident!("{}Client", item.ident);
    let vis = item.vis.clone();
    if item.supertraits.is_empty() {
        item.colon_token = Some(Default::default());
    }
    item.supertraits.push(syn::parse_quote!(::core::marker::Send));
    item.supertraits.push(syn::parse_quote!(::core::marker::Sync));
    let client_doc =
        format!(" Calls the functions of [`{trait_name}`] on FunctionGraph. Generated by `#[fgs_functions]`.");
    let client_impl = with_impl.then(|| {
        quote! {
            #[#async_trait]
            impl #trait_name for #client_name {
                #(#methods)*
            }
        }
    });
    quote! {
        #[#async_trait]
        #item

        #[doc = #client_doc]
        #[derive(Clone, Debug)]
        #vis struct #client_name {
            client: #krate::Client,
        }

        impl #client_name {
            /// Calls the functions through `client`.
            #vis fn new(client: #krate::Client) -> Self {
                Self { client }
            }

            /// The client calls go through.
            #vis fn client(&self) -> &#krate::Client {
                &self.client
            }
        }

        #client_impl
    }
}

fn error_with_item(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item)
}

/// The parts of a signature the call needs.
struct Shape {
    client: TokenStream,
    input: Option<TokenStream>,
}

fn check_common(sig: &Signature, errors: &mut Errors) {
    if sig.asyncness.is_none() {
        errors.push(
            sig.fn_token.span(),
            "a stub is an `async fn`: calling a function takes a network round trip",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push_spanned(
            &sig.generics,
            "a stub cannot be generic: its input and output types are fixed",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic.span(), "a stub cannot be variadic");
    }
    match &sig.output {
        ReturnType::Default => errors.push(
            sig.paren_token.span.close(),
            "missing the output type: a stub returns `Result<Output, fgs::Error>`",
        ),
        ReturnType::Type(_, ty) => {
            if !is_result(ty) {
                errors.push_spanned(
                    ty,
                    "a stub returns `Result<Output, fgs::Error>` (or an error type that is `From<fgs::Error>`)",
                );
            }
        }
    }
}

fn is_result(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.path.segments.last().is_some_and(|segment| {
        segment.ident == "Result"
            && matches!(&segment.arguments, syn::PathArguments::AngleBracketed(args) if args.args.len() == 2)
    })
}

fn input_name(arg: &FnArg, errors: &mut Errors) -> Option<TokenStream> {
    match arg {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                let name = &ident.ident;
                Some(quote!(#name))
            }
            other => {
                errors.push_spanned(other, "name the input with a plain identifier, e.g. `input: HelloIn`");
                None
            }
        },
        FnArg::Receiver(receiver) => {
            errors.push_spanned(receiver, "unexpected `self` here");
            None
        }
    }
}

/// `async fn name(client: &Client[, input: In]) -> Result<Out, E>`.
fn check_free_signature(sig: &Signature, errors: &mut Errors) -> Option<Shape> {
    check_common(sig, errors);
    let mut args = sig.inputs.iter();
    let client = match args.next() {
        Some(FnArg::Receiver(receiver)) => {
            errors.push_spanned(
                receiver,
                "wrong receiver: a stub takes the client as its first argument (`client: &fgs::Client`); for methods, put #[function(...)] on the methods of a #[fgs_functions] trait",
            );
            None
        }
        Some(FnArg::Typed(typed)) => {
            if !matches!(&*typed.ty, Type::Reference(_)) {
                errors.push_spanned(
                    &typed.ty,
                    "the first argument is the client, by reference: `client: &fgs::Client`",
                );
            }
            input_name(&FnArg::Typed(typed.clone()), errors)
        }
        None => {
            errors.push(
                sig.paren_token.span.join(),
                "missing the client argument: `client: &fgs::Client`",
            );
            None
        }
    };
    let input = args.next().and_then(|arg| input_name(arg, errors));
    for extra in args {
        errors.push_spanned(
            extra,
            "a stub takes one input argument after the client; group values in a struct",
        );
    }
    Some(Shape { client: client?, input })
}

/// `async fn name(&self[, input: In]) -> Result<Out, E>`.
fn check_method_signature(sig: &Signature, errors: &mut Errors) -> Option<Shape> {
    check_common(sig, errors);
    let mut args = sig.inputs.iter();
    match args.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.mutability.is_none() && matches!(receiver.kind, ReceiverKind::Reference(_, _, None)) => {}
        Some(other) => {
            errors.push_spanned(other, "wrong receiver: a function method takes `&self`");
        }
        None => errors.push(
            sig.paren_token.span.join(),
            "wrong receiver: a function method takes `&self`",
        ),
    }
    let input = args.next().and_then(|arg| input_name(arg, errors));
    for extra in args {
        errors.push_spanned(
            extra,
            "a function method takes one input argument after `&self`; group values in a struct",
        );
    }
    Some(Shape {
        client: TokenStream::new(),
        input,
    })
}

/// The `Spec` constant (plus compile-time checks of option values against the spec).
fn spec(options: &Options, errors: &mut Errors) -> Option<TokenStream> {
    let krate = options.krate();
    let stub = quote!(#krate::__private::stub);
    let target = match options.target.as_ref()? {
        Target::Urn(urn) => quote!(#stub::Target::Urn(#urn)),
        Target::Function(function) => {
            let function = function.as_str();
            quote!(#stub::Target::Function(#function))
        }
    };
    let mut checks = Vec::new();
    let response_version = match &options.response_version {
        Some(version) => {
            checks.push(value_check(
                &krate,
                "ResponseVersion",
                "response_version",
                &version.value(),
                version.span(),
            ));
            quote!(::core::option::Option::Some(#version))
        }
        None => quote!(::core::option::Option::None),
    };
    let memory = match &options.memory {
        Some(memory) => {
            let value = options::memory_value(memory, errors)?;
            checks.push(value_check(&krate, "InstanceMemory", "memory", &value, memory.span()));
            quote!(::core::option::Option::Some(#value))
        }
        None => quote!(::core::option::Option::None),
    };
    let timeout = match options.timeout_ms {
        Some(ms) => quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#ms))),
        None => quote!(::core::option::Option::None),
    };
    let log_tail = options.log_tail;
    let idempotent = options.idempotent;
    Some(quote! {
        #(#checks)*
        const SPEC: #stub::Spec = #stub::Spec {
            target: #target,
            log_tail: #log_tail,
            response_version: #response_version,
            memory: #memory,
            timeout: #timeout,
            idempotent: #idempotent,
        };
    })
}

/// A constant that fails to compile, pointing at the option's value, when `value` is not in
/// the list the generator wrote for `enum_name` from the spec.
fn value_check(krate: &TokenStream, enum_name: &str, option: &str, value: &str, span: Span) -> TokenStream {
    let enum_ident = format_ident!("{}", enum_name);
    let message = format!(
        "#[fgs_function]: `{option}` cannot be {value:?}: it must be one of fgs::{enum_name}::VALUES, the values the API description lists"
    );
    let check = quote! {
        const _: () = #krate::__private::stub::assert_one_of(#krate::__private::#enum_ident::VALUES, #value, #message);
    };
    respan(check, span)
}

/// Gives every token `span`, so that a compile error inside points at the option.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The body: the spec, then one call into the runtime.
fn call(
    krate: &TokenStream,
    options: &Options,
    spec: &TokenStream,
    client: &TokenStream,
    input: Option<&TokenStream>,
) -> TokenStream {
    let stub = quote!(#krate::__private::stub);
    let input = match input {
        Some(input) => quote!(::core::option::Option::Some(&#input)),
        None => quote!(::core::option::Option::None::<&()>),
    };
    let function = match options.output {
        Output::Json => quote!(#stub::call_json),
        Output::Raw => quote!(#stub::invoke),
        Output::ApiGateway => quote!(#stub::call_api_gateway),
    };
    quote! {
        #spec
        #function(#client, &SPEC, #input).await.map_err(::core::convert::Into::into)
    }
}
