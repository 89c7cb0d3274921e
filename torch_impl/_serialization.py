"""Keras's object (de)serialization (``keras/src/saving/serialization_lib.py``, Keras 3.15.1), the part that the
``serialize`` / ``deserialize`` functions of a Keras module (``keras.losses.serialize``...) run, for torch_impl's
objects: the same dicts out, the same dicts (and names) in, the same results and errors, quirks included.

Keras resolves names through its exported API (``keras.losses.CategoricalCrossentropy``...); torch_impl never
imports Keras, so a :class:`KerasNamespace` stands in for it: which torch_impl object each Keras API name and each
importable Keras module name gives. Not reproduced: ``register_keras_serializable``'s global registry (pass
``custom_objects``), shared-object scopes, build and compile configs (no torch_impl loss has them).

Example:
    >>> ns = KerasNamespace(symbols={"keras.losses.mean": len}, canonical={len: "keras.losses.mean"})
    >>> serialize_keras_object([1, 2.5, "a"], ns)
    [1, 2.5, 'a']
"""

from __future__ import annotations

import codecs
import contextlib
import inspect
import marshal
import types
import warnings
from typing import Optional

import numpy as np
import torch

PLAIN_TYPES = (str, int, float, bool)

#: the Keras modules whose built-in functions a ``{"module": "builtins", "class_name": "function"}`` config names
BUILTIN_MODULES = ("activations", "constraints", "initializers", "losses", "metrics", "optimizers", "regularizers")

_SCOPE: list = []  # Keras's CustomObjectScope stack: the custom objects a from_config may look up


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict):
    """Keras's ``CustomObjectScope``: ``custom_objects`` visible to nested deserialization (``from_config``)."""
    _SCOPE.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _SCOPE.pop()


def _scope_dict() -> dict:
    out = {}
    for d in _SCOPE:
        out.update(d)
    return out


class KerasNamespace:
    """The Keras API as far as a torch_impl module mirrors it.

    Args:
        symbols: Keras API name -> torch_impl object (``"keras.losses.Huber"`` -> :class:`torch_impl.losses.Huber`).
        canonical: object -> its canonical Keras API name (what ``keras_export`` names it first; a class not here
            serializes as a custom class, with its module).
        modules: an importable Keras module name -> its names (``"keras.src.losses.losses"`` ->
            ``{"LossFunctionWrapper": ...}``), for configs that name a module instead of an API path.
        private: class -> the Keras module name of a Keras class that has no API name (``LossFunctionWrapper`` ->
            ``"keras.src.losses.losses"``), so it serializes as Keras writes it.
    """

    def __init__(self, symbols: dict, canonical: dict, modules: Optional[dict] = None,
                 private: Optional[dict] = None):
        self.symbols, self.canonical = dict(symbols), dict(canonical)
        self.modules, self.private = dict(modules or {}), dict(private or {})

    def symbol(self, api_name: str):
        return self.symbols.get(api_name)

    def name_of(self, obj) -> Optional[str]:
        try:
            return self.canonical.get(obj)
        except TypeError:  # unhashable
            return None


# ------------------------------------------------------------------------------------------------- serialize


def _func_dump(func) -> tuple:
    """Keras's ``python_utils.func_dump``: ``(base64 marshalled code, defaults, closure)``."""
    code = codecs.encode(marshal.dumps(func.__code__), "base64").decode("ascii")
    closure = tuple(c.cell_contents for c in func.__closure__) if func.__closure__ else None
    return code, func.__defaults__, closure


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def serialize_keras_object(obj, ns: KerasNamespace, config_of=None):
    """Keras's ``serialize_keras_object`` for torch_impl objects (``config_of(obj)``, default ``obj.get_config()``,
    gives an object's config). A torch tensor is Keras's backend tensor (``"__tensor__"``)."""
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x, ns, config_of) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v, ns, config_of) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {k: serialize_keras_object(getattr(obj, k), ns, config_of)
                                                      for k in ("start", "stop", "step")}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, torch.Tensor):
        return {"class_name": "__tensor__",
                "config": {"value": obj.detach().cpu().tolist(), "dtype": _dtype_name(obj.dtype)}}
    if type(obj).__module__ == np.__name__:
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
        return obj.item()
    if isinstance(obj, torch.dtype):
        return _dtype_name(obj)
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError):
            source = repr(obj)
        warnings.warn("The object being serialized includes a `lambda`. This is unsafe. In order to reload the "
                      "object, you will have to pass `safe_mode=False` to the loading function. Please avoid using "
                      "`lambda` in the future, and use named Python functions instead. "
                      f"This is the `lambda` being serialized: {source}", stacklevel=3)
        return {"class_name": "__lambda__", "config": {"value": _func_dump(obj)}}
    # Keras's _get_class_or_fn_config
    if isinstance(obj, types.FunctionType):
        inner = obj.__name__
    elif hasattr(obj, "get_config"):
        config = config_of(obj) if config_of is not None else obj.get_config()
        if not isinstance(config, dict):
            raise TypeError(f"The `get_config()` method of {obj} should return a dict. It returned: {config}")
        inner = {k: serialize_keras_object(v, ns, config_of) for k, v in config.items()}
    elif hasattr(obj, "__name__"):
        inner = obj.__name__
    else:
        raise TypeError(f"Cannot serialize object {obj} of type {type(obj)}. To be serializable, a class must "
                        "implement the `get_config()` method.")
    cls = type(obj)
    api_name = ns.name_of(cls)
    if api_name is not None:  # Keras's serialize_with_public_class: a Keras API class
        module, _, class_name = api_name.rpartition(".")
        out = {"module": module, "class_name": class_name, "config": inner, "registered_name": None}
    else:  # any other class (a function's: builtins.function) is tracked by its module and name
        module = ns.private.get(cls, cls.__module__)
        out = {"module": module, "class_name": cls.__name__, "config": inner, "registered_name": cls.__name__}
    if out["module"] == "__main__":
        out["module"] = None
    return out


# ----------------------------------------------------------------------------------------------- deserialize


def _get_registered_object(name, custom_objects: dict):
    """Keras's ``get_registered_object`` (the scope's custom objects, then ``custom_objects``)."""
    scope = _scope_dict()
    try:
        if name in scope:
            return scope[name]
        if custom_objects and name in custom_objects:
            return custom_objects[name]
    except TypeError:  # an unhashable name
        return None
    return None


def _assert_no_registered_name_for_builtin(full_config: dict, name, resolved_name: str) -> None:
    explicit = full_config.get("registered_name")
    if not explicit or explicit in (name, full_config.get("class_name")):
        return
    raise ValueError(f"`registered_name={explicit!r}` was provided in the config, but '{resolved_name}' resolved to "
                     "a Keras built-in and does not use registered names. Remove the `registered_name` field from "
                     f"the config. Full object config: {full_config}")


def _retrieve_class_or_fn(name, registered_name, module, obj_type: str, full_config: dict, custom_objects: dict,
                          ns: KerasNamespace):
    """Keras's ``_retrieve_class_or_fn``: a custom object, else the Keras API name ``module.name``, else a
    built-in function by name, else the module's attribute; else ``TypeError``."""
    obj = _get_registered_object(name if obj_type == "function" else registered_name, custom_objects)
    if obj is not None:
        return obj
    if module:
        if module == "keras" or module.startswith("keras."):
            api_name = f"{module}.{name}"
            obj = ns.symbol(api_name)
            if obj is not None:
                _assert_no_registered_name_for_builtin(full_config, name, api_name)
                return obj
        if obj_type == "function" and module == "builtins":
            for mod in BUILTIN_MODULES:
                obj = ns.symbol(f"keras.{mod}.{name}")
                if obj is not None:
                    _assert_no_registered_name_for_builtin(full_config, name, f"keras.{mod}.{name}")
                    return obj
            if ">" not in str(name):  # Keras <= 3.6 saved registered functions by name alone
                for custom_name, custom_object in custom_objects.items():
                    if custom_name.endswith(f">{name}"):
                        return custom_object
        package = module.split(".", maxsplit=1)[0]
        if package in {"keras", "keras_hub", "keras_cv", "keras_nlp"}:
            if module not in ns.modules:
                raise TypeError(f"Could not deserialize {obj_type} '{name}' because its parent module {module} "
                                f"cannot be imported. Full object config: {full_config}")
            obj = ns.modules[module].get(name)
            if isinstance(obj, type):
                return obj
            raise ValueError(f"Could not deserialize '{module}.{name}' because it is not a KerasSaveable subclass")
    raise TypeError(f"Could not locate {obj_type} '{name}'. Make sure custom classes and functions are decorated "
                    "with `@keras.saving.register_keras_serializable()`. If they are already decorated, make sure "
                    "they are all imported so that the decorator is run before trying to load them. Full object "
                    f"config: {full_config}")


_LAMBDA_REFUSED = ("Requested the deserialization of a Python lambda. This carries a potential risk of arbitrary code "
                   "execution and thus it is disallowed by default. If you trust the source of the artifact, you can "
                   "override this error by passing `safe_mode=False` to the loading function, or calling "
                   "`keras.config.enable_unsafe_deserialization().")


def deserialize_keras_object(config, ns: KerasNamespace, custom_objects: Optional[dict] = None,
                             module_objects: Optional[dict] = None):
    """Keras's ``deserialize_keras_object`` (safe mode: a lambda is refused), with ``module_objects`` the table a
    module's ``deserialize`` passes (``keras.losses.ALL_OBJECTS_DICT``). As Keras's, a name (or a config's class
    or function name) found neither there nor in ``custom_objects`` comes back as the name itself."""
    custom_objects = {**(custom_objects or {}), **_scope_dict()}
    if config is None:
        return None
    if isinstance(config, str) and custom_objects and custom_objects.get(config) is not None:
        return custom_objects[config]
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, ns, custom_objects) for x in config]

    if module_objects is not None:
        inner_config, fn_module_name, has_custom_object = None, None, False
        if isinstance(config, dict):
            if "config" in config:
                inner_config = config["config"]
            if "class_name" not in config:
                raise ValueError(f"Unknown `config` as a `dict`, config={config}")
            if custom_objects and (config["class_name"] in custom_objects
                                   or config.get("registered_name") in custom_objects
                                   or (isinstance(inner_config, str) and inner_config in custom_objects)):
                has_custom_object = True
            elif config["class_name"] == "function":
                fn_module_name = config["module"]
                config = config["config"] if fn_module_name == "builtins" else config["registered_name"]
            else:
                if config.get("module", "_") is None:
                    raise TypeError(f"Cannot deserialize object of type `{config['class_name']}`. If "
                                    f"`{config['class_name']}` is a custom class, please register it using the "
                                    "`@keras.saving.register_keras_serializable()` decorator.")
                config = config["class_name"]
        if not has_custom_object:
            try:
                known = config in module_objects
            except TypeError:  # unhashable
                known = False
            if not known:
                return config  # Keras: "Object has already been deserialized"
            obj = module_objects[config]
            if isinstance(obj, types.FunctionType):  # Keras's serialize_with_public_fn
                if fn_module_name:
                    module = fn_module_name
                else:
                    module = ns.name_of(obj).rpartition(".")[0]
                public = {"module": module, "class_name": "function", "config": config, "registered_name": config}
            else:  # Keras's serialize_with_public_class
                api_name = ns.name_of(obj)
                if api_name is not None:
                    module, _, class_name = api_name.rpartition(".")
                    public = {"module": module, "class_name": class_name, "config": inner_config,
                              "registered_name": None}
                else:
                    public = {"module": ns.private.get(obj, obj.__module__), "class_name": obj.__name__,
                              "config": inner_config, "registered_name": obj.__name__}
            return deserialize_keras_object(public, ns, custom_objects)

    if isinstance(config, PLAIN_TYPES):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, ns, custom_objects) for k, v in config.items()}

    class_name = config["class_name"]
    inner_config = config["config"] if config["config"] is not None else {}
    if class_name == "__tensor__":
        return torch.tensor(inner_config["value"], dtype=getattr(torch, inner_config["dtype"]))
    if class_name == "__numpy__":
        return np.array(inner_config["value"], dtype=inner_config["dtype"])
    if class_name == "__bytes__":
        return inner_config["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner_config[k], ns, custom_objects)
                       for k in ("start", "stop", "step")))
    if class_name == "__lambda__":
        raise ValueError(_LAMBDA_REFUSED)

    module = config.get("module", None)
    registered_name = config.get("registered_name", class_name)
    if class_name == "function":
        if not isinstance(inner_config, str):
            raise TypeError(f"Expected 'config' to be a non-null str fora function classname,\n"
                            f"instead got {type(inner_config)}\nFull config: {config}")
        return _retrieve_class_or_fn(inner_config, registered_name, module, "function", config, custom_objects, ns)
    if not isinstance(inner_config, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name},\ninstead got {type(inner_config)}\n"
                        f"Full config: {config}")
    cls = _retrieve_class_or_fn(class_name, registered_name, module, "class", config, custom_objects, ns)
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Unable to reconstruct an instance of '{class_name}' because the class is missing a "
                        f"`from_config()` method. Full object config: {config}")
    with custom_object_scope(custom_objects):
        try:
            return cls.from_config(inner_config)
        except TypeError as e:
            raise TypeError(f"{cls} could not be deserialized properly. Please ensure that components that are "
                            "Python object instances (layers, models, etc.) returned by `get_config()` are "
                            "explicitly deserialized in the model's `from_config()` method."
                            f"\n\nconfig={config}.\n\nException encountered: {e}") from e
