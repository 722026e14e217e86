"""pulseai_async: the async-first Python SDK for the PulseAI LLM app platform."""

from typing import TYPE_CHECKING

from . import _errors
from ._exports import lazy_exports
from ._logs import setup_logging

# The one table of public names. Type checkers and the reference docs read it as
# imports; at run time `_exports` reads it as data, giving `__all__`, `dir()` and the
# lazy loading (a name's module is imported on first use). A new public name is one
# line here, `from .module import Name as Name`.
if TYPE_CHECKING:
    from ._app.app_info import App as App
    from ._app.audio import Audio as Audio
    from ._app.audio import TextToAudio as TextToAudio
    from ._app.chat import Chat as Chat
    from ._app.conversations import Conversations as Conversations
    from ._app.conversations import HistoryOrder as HistoryOrder
    from ._app.conversations import SortBy as SortBy
    from ._app.files import Files as Files
    from ._app.messages import Messages as Messages
    from ._app.messages import Rating as Rating
    from ._app.models import AppInfo as AppInfo
    from ._app.models import AppMeta as AppMeta
    from ._app.models import AppParameters as AppParameters
    from ._app.models import Conversation as Conversation
    from ._app.models import FeatureToggle as FeatureToggle
    from ._app.models import FileUploadSettings as FileUploadSettings
    from ._app.models import FormControl as FormControl
    from ._app.models import HistoryMessage as HistoryMessage
    from ._app.models import HistoryMessageFile as HistoryMessageFile
    from ._app.models import ImageUploadSettings as ImageUploadSettings
    from ._app.models import MessageAgentThought as MessageAgentThought
    from ._app.models import MessageFeedback as MessageFeedback
    from ._app.models import SystemParameters as SystemParameters
    from ._app.models import TextToSpeechSettings as TextToSpeechSettings
    from ._app.models import ToolIcon as ToolIcon
    from ._app.models import Transcription as Transcription
    from ._app.models import UploadedFile as UploadedFile
    from ._client import AsyncPulse as AsyncPulse
    from ._config import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from ._config import Timeout as Timeout
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AppUnavailableError as AppUnavailableError
    from ._errors import ArchivedDocumentImmutableError as ArchivedDocumentImmutableError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import BadGatewayError as BadGatewayError
    from ._errors import BadRequestError as BadRequestError
    from ._errors import ClientClosedError as ClientClosedError
    from ._errors import CompletionRequestError as CompletionRequestError
    from ._errors import ConflictError as ConflictError
    from ._errors import ConversationNotFoundError as ConversationNotFoundError
    from ._errors import DatasetInUseError as DatasetInUseError
    from ._errors import DatasetNameDuplicateError as DatasetNameDuplicateError
    from ._errors import DatasetNotInitializedError as DatasetNotInitializedError
    from ._errors import DocumentAlreadyFinishedError as DocumentAlreadyFinishedError
    from ._errors import DocumentIndexingError as DocumentIndexingError
    from ._errors import EventLoopMismatchError as EventLoopMismatchError
    from ._errors import EventTooLargeError as EventTooLargeError
    from ._errors import FeedbackRatingRequiredError as FeedbackRatingRequiredError
    from ._errors import FilenameNotExistsError as FilenameNotExistsError
    from ._errors import FileTooLargeError as FileTooLargeError
    from ._errors import GatewayTimeoutError as GatewayTimeoutError
    from ._errors import HighQualityDatasetOnlyError as HighQualityDatasetOnlyError
    from ._errors import IndexingFailedError as IndexingFailedError
    from ._errors import IndexingTimeoutError as IndexingTimeoutError
    from ._errors import InternalServerError as InternalServerError
    from ._errors import InvalidActionError as InvalidActionError
    from ._errors import InvalidMetadataError as InvalidMetadataError
    from ._errors import InvalidParamError as InvalidParamError
    from ._errors import ModelCurrentlyNotSupportError as ModelCurrentlyNotSupportError
    from ._errors import NoFileUploadedError as NoFileUploadedError
    from ._errors import NotChatAppError as NotChatAppError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PaginationStalledError as PaginationStalledError
    from ._errors import PayloadTooLargeError as PayloadTooLargeError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import ProviderNotInitializeError as ProviderNotInitializeError
    from ._errors import ProviderNotSupportSpeechToTextError as ProviderNotSupportSpeechToTextError
    from ._errors import ProviderQuotaExceededError as ProviderQuotaExceededError
    from ._errors import PulseError as PulseError
    from ._errors import PulseValidationError as PulseValidationError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import RedirectError as RedirectError
    from ._errors import ResponseDecodeError as ResponseDecodeError
    from ._errors import ResponseTooLargeError as ResponseTooLargeError
    from ._errors import ServerError as ServerError
    from ._errors import ServiceUnavailableError as ServiceUnavailableError
    from ._errors import StreamClosedError as StreamClosedError
    from ._errors import StreamInterruptedError as StreamInterruptedError
    from ._errors import StreamTextTooLargeError as StreamTextTooLargeError
    from ._errors import StreamTimeoutError as StreamTimeoutError
    from ._errors import SuggestedQuestionsDisabledError as SuggestedQuestionsDisabledError
    from ._errors import TooManyFilesError as TooManyFilesError
    from ._errors import UnexpectedContentTypeError as UnexpectedContentTypeError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._errors import UnsupportedFileTypeError as UnsupportedFileTypeError
    from ._errors import UnsupportedMediaTypeError as UnsupportedMediaTypeError
    from ._hooks import CallInfo as CallInfo
    from ._hooks import Hook as Hook
    from ._hooks import RequestInfo as RequestInfo
    from ._hooks import ResponseInfo as ResponseInfo
    from ._knowledge.chunks import ChunkInput as ChunkInput
    from ._knowledge.chunks import Chunks as Chunks
    from ._knowledge.datasets import Datasets as Datasets
    from ._knowledge.datasets import Permission as Permission
    from ._knowledge.documents import Documents as Documents
    from ._knowledge.indexing import ProgressCallback as ProgressCallback
    from ._knowledge.models import Dataset as Dataset
    from ._knowledge.models import DocForm as DocForm
    from ._knowledge.models import Document as Document
    from ._knowledge.models import DocumentBatch as DocumentBatch
    from ._knowledge.models import IndexingProgress as IndexingProgress
    from ._knowledge.models import IndexingStatus as IndexingStatus
    from ._knowledge.models import IndexingTechnique as IndexingTechnique
    from ._knowledge.models import ProcessRule as ProcessRule
    from ._knowledge.models import RetrievalModel as RetrievalModel
    from ._knowledge.models import RetrievedDocument as RetrievedDocument
    from ._knowledge.models import RetrievedSegment as RetrievedSegment
    from ._knowledge.models import RetrieveRecord as RetrieveRecord
    from ._knowledge.models import RetrieveResult as RetrieveResult
    from ._knowledge.models import SearchMethod as SearchMethod
    from ._knowledge.models import Segment as Segment
    from ._models import Model as Model
    from ._options import RequestOptions as RequestOptions
    from ._pagination import AsyncPager as AsyncPager
    from ._pagination import Page as Page
    from ._rate_gate import LocalRateLimitGate as LocalRateLimitGate
    from ._rate_gate import RateLimitGate as RateLimitGate
    from ._rate_gate import gate_key as gate_key
    from ._raw import RawResponse as RawResponse
    from ._redis_gate import RedisRateLimitGate as RedisRateLimitGate
    from ._retry import RetryPolicy as RetryPolicy
    from ._signing import HmacSigner as HmacSigner
    from ._signing import Signer as Signer
    from ._signing import TimestampSigner as TimestampSigner
    from ._streaming.answer import AnnotationReply as AnnotationReply
    from ._streaming.answer import ChatMessage as ChatMessage
    from ._streaming.answer import MessageMetadata as MessageMetadata
    from ._streaming.answer import RetrieverResource as RetrieverResource
    from ._streaming.answer import Usage as Usage
    from ._streaming.chat_stream import ChatStream as ChatStream
    from ._streaming.events import AgentLog as AgentLog
    from ._streaming.events import AgentMessageEvent as AgentMessageEvent
    from ._streaming.events import AgentThought as AgentThought
    from ._streaming.events import ChatEvent as ChatEvent
    from ._streaming.events import ErrorEvent as ErrorEvent
    from ._streaming.events import Event as Event
    from ._streaming.events import HumanInputFormFilled as HumanInputFormFilled
    from ._streaming.events import HumanInputFormTimeout as HumanInputFormTimeout
    from ._streaming.events import HumanInputRequired as HumanInputRequired
    from ._streaming.events import IterationCompleted as IterationCompleted
    from ._streaming.events import IterationNext as IterationNext
    from ._streaming.events import IterationStarted as IterationStarted
    from ._streaming.events import LoopCompleted as LoopCompleted
    from ._streaming.events import LoopNext as LoopNext
    from ._streaming.events import LoopStarted as LoopStarted
    from ._streaming.events import MessageEnd as MessageEnd
    from ._streaming.events import MessageEvent as MessageEvent
    from ._streaming.events import MessageFile as MessageFile
    from ._streaming.events import MessageReplace as MessageReplace
    from ._streaming.events import NodeData as NodeData
    from ._streaming.events import NodeFinished as NodeFinished
    from ._streaming.events import NodeRetry as NodeRetry
    from ._streaming.events import NodeStarted as NodeStarted
    from ._streaming.events import ParallelBranchFinished as ParallelBranchFinished
    from ._streaming.events import ParallelBranchStarted as ParallelBranchStarted
    from ._streaming.events import Ping as Ping
    from ._streaming.events import ReasoningChunk as ReasoningChunk
    from ._streaming.events import TextChunk as TextChunk
    from ._streaming.events import TextReplace as TextReplace
    from ._streaming.events import TTSMessage as TTSMessage
    from ._streaming.events import TTSMessageEnd as TTSMessageEnd
    from ._streaming.events import UnknownEvent as UnknownEvent
    from ._streaming.events import WorkflowData as WorkflowData
    from ._streaming.events import WorkflowFinished as WorkflowFinished
    from ._streaming.events import WorkflowPaused as WorkflowPaused
    from ._streaming.events import WorkflowStarted as WorkflowStarted
    from ._streaming.sse import ServerSentEvent as ServerSentEvent
    from ._streaming.sse import SSEDecoder as SSEDecoder
    from ._uploads import AsyncReadable as AsyncReadable
    from ._uploads import FileInput as FileInput
    from ._version import __version__ as __version__
else:
    __all__, __getattr__, __dir__ = lazy_exports(__name__)

    # Tracebacks name `pulseai_async.RateLimitError`, not the private module that
    # defines it. Only exceptions: msgspec resolves a Struct's annotations through its
    # `__module__`.
    for _name in __all__:
        _error = vars(_errors).get(_name)
        if isinstance(_error, type) and issubclass(_error, BaseException):
            _error.__module__ = __name__
    del _name, _error

setup_logging()  # PULSEAI_LOG=info|debug, like OPENAI_LOG
del TYPE_CHECKING, lazy_exports, setup_logging
