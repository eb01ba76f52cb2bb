"""Raw PDUs for the listener tests: an A-ASSOCIATE-RQ (PS3.8 Section 9.3.2) built by
pynetdicom, to send over a plain socket."""

from __future__ import annotations

from pynetdicom import build_context

from srkit.net.dimse.pdu import APPLICATION_CONTEXT


def associate_rq(contexts, *, calling="RAW", called="SRKIT", app=APPLICATION_CONTEXT) -> bytes:
    """An A-ASSOCIATE-RQ PDU (pynetdicom encodes it) proposing ``contexts``
    (abstract syntax, transfer syntax) with IDs 1, 3, 5..."""
    from pynetdicom.pdu import A_ASSOCIATE_RQ
    from pynetdicom.pdu_primitives import (
        A_ASSOCIATE,
        ImplementationClassUIDNotification,
        MaximumLengthNotification,
    )

    primitive = A_ASSOCIATE()
    primitive.application_context_name = app
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = 16384
    uid = ImplementationClassUIDNotification()
    uid.implementation_class_uid = "1.2.826.0.1.3680043.9.7433.1.1"
    primitive.user_information = [max_length, uid]
    proposed = []
    for index, (abstract, syntax) in enumerate(contexts):
        context = build_context(abstract, syntax)
        context.context_id = 2 * index + 1
        proposed.append(context)
    primitive.presentation_context_definition_list = proposed
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return pdu.encode()
