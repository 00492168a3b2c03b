//! Argument readers with the standard Lua error texts.

use super::{Error, Integer, IntegerArg, LResult, Lua};
use crate::ffi;
use std::ffi::c_int;

impl Lua {
    /// `luaL_checknumber`: numbers and numeric strings.
    pub fn check_number(self, arg: c_int) -> LResult<f64> {
        self.to_number(arg)
            .ok_or_else(|| Error::type_error(self, arg, "number"))
    }

    /// `luaL_checkinteger` with this version's rules.
    pub fn check_integer(self, arg: c_int) -> LResult<Integer> {
        match self.to_integer_arg(arg) {
            IntegerArg::Ok(n) => Ok(n),
            IntegerArg::NotNumber => Err(Error::type_error(self, arg, "number")),
            IntegerArg::NoIntegerRep => Err(Error::arg(arg, "number has no integer representation")),
        }
    }

    /// `luaL_optinteger`.
    pub fn opt_integer(self, arg: c_int, default: Integer) -> LResult<Integer> {
        if self.is_none_or_nil(arg) {
            Ok(default)
        } else {
            self.check_integer(arg)
        }
    }

    /// `luaL_checklstring` without number conversion side effects visible to
    /// the caller (numbers are accepted and converted like the original).
    pub fn check_bytes<'a>(self, arg: c_int) -> LResult<&'a [u8]> {
        match self.type_of(arg) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => self
                .to_string_coerce(arg)
                .ok_or_else(|| Error::type_error(self, arg, "string")),
            _ => Err(Error::type_error(self, arg, "string")),
        }
    }

    /// A boolean argument that must be a boolean if present at all
    /// (`f(nil)` is an error, `f()` gives None).
    pub fn opt_boolean_strict(self, arg: c_int) -> LResult<Option<bool>> {
        if self.type_of(arg) == ffi::LUA_TNONE {
            Ok(None)
        } else if self.type_of(arg) == ffi::LUA_TBOOLEAN {
            Ok(Some(self.to_boolean(arg)))
        } else {
            Err(Error::type_error(self, arg, "boolean"))
        }
    }

    /// `luaL_checkoption` with a default.
    pub fn check_option(self, arg: c_int, default: Option<&str>, options: &[&str]) -> LResult<usize> {
        let name: Vec<u8> = if self.is_none_or_nil(arg) {
            match default {
                Some(d) => d.as_bytes().to_vec(),
                None => return Err(Error::type_error(self, arg, "string")),
            }
        } else {
            self.check_bytes(arg)?.to_vec()
        };
        options
            .iter()
            .position(|o| o.as_bytes() == name.as_slice())
            .ok_or_else(|| Error::arg(arg, format!("invalid option '{}'", String::from_utf8_lossy(&name))))
    }
}
