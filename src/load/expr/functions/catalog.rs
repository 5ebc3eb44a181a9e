//! The coverage of Qlik's script functions: every function of Qlik's
//! reference ("Script and chart functions" on help.qlik.com, the ones a
//! load script can call) by category, each supported or not with the
//! reason. It is the one place that says so: a function it marks
//! unsupported fails with that reason (`load::unsupported`), and
//! `docs/functions.md` is generated from it (a test checks the file;
//! `BLESS=1 cargo test --lib catalog` rewrites it).

/// A category of Qlik's function reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Category {
    Aggregation,
    Color,
    Conditional,
    Counter,
    DateTime,
    Exponential,
    File,
    Financial,
    Formatting,
    GeneralNumeric,
    Geospatial,
    Interpretation,
    InterRecord,
    Logical,
    Mapping,
    Mathematical,
    Null,
    Range,
    StatDistribution,
    String,
    System,
    Table,
    Trigonometric,
    Window,
}

#[cfg(test)]
impl Category {
    /// The category's title in Qlik's reference.
    fn title(self) -> &'static str {
        match self {
            Category::Aggregation => "Aggregation functions",
            Category::Color => "Color functions",
            Category::Conditional => "Conditional functions",
            Category::Counter => "Counter functions",
            Category::DateTime => "Date and time functions",
            Category::Exponential => "Exponential and logarithmic functions",
            Category::File => "File functions",
            Category::Financial => "Financial functions",
            Category::Formatting => "Formatting functions",
            Category::GeneralNumeric => "General numeric functions",
            Category::Geospatial => "Geospatial functions",
            Category::Interpretation => "Interpretation functions",
            Category::InterRecord => "Inter-record functions",
            Category::Logical => "Logical functions",
            Category::Mapping => "Mapping functions",
            Category::Mathematical => "Mathematical functions",
            Category::Null => "NULL functions",
            Category::Range => "Range functions",
            Category::StatDistribution => "Statistical distribution functions",
            Category::String => "String functions",
            Category::System => "System functions",
            Category::Table => "Table functions",
            Category::Trigonometric => "Trigonometric and hyperbolic functions",
            Category::Window => "Window functions",
        }
    }
}

/// Whether a function runs offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    /// Evaluated with Qlik's semantics ([`super::lookup_function`] knows it).
    Yes,
    /// Not evaluated, for this reason.
    No(&'static str),
}
use Status::{No, Yes};

/// Needs the clock.
const CLOCK: &str = "it reads the clock at reload time, which an offline run cannot reproduce";
/// Random.
const RANDOM: &str =
    "its random numbers come from Qlik's own generator and seed, which cannot be matched";
/// Asks the engine or its machine.
const SERVER: &str =
    "it asks the Qlik engine or the machine it runs on, which an offline run does not have";
/// Needs the server's time zone.
const TIME_ZONE: &str = "it depends on the time zone and daylight saving rules of the Qlik server";
/// Geospatial.
const GEO: &str = "it needs Qlik's geospatial engine";
/// A data connection.
const CONNECTION: &str = "it reads the data connection, which lives on the Qlik server";
/// A file's time on the server.
const FILE_TIME: &str =
    "it reads a file's time on the Qlik server, which differs from the local copy's";
/// Not done yet.
const NOT_YET: &str = "not implemented yet";

/// Qlik's script functions by category, in the reference's order.
pub(super) static CATALOG: &[(Category, &str, Status)] = &[
    (Category::Aggregation, "Sum", Yes),
    (Category::Aggregation, "Count", Yes),
    (Category::Aggregation, "Min", Yes),
    (Category::Aggregation, "Max", Yes),
    (Category::Aggregation, "Only", Yes),
    (Category::Aggregation, "Mode", Yes),
    (Category::Aggregation, "FirstSortedValue", Yes),
    (Category::Aggregation, "Concat", Yes),
    (Category::Aggregation, "MinString", Yes),
    (Category::Aggregation, "MaxString", Yes),
    (Category::Aggregation, "NullCount", Yes),
    (Category::Aggregation, "TextCount", Yes),
    (Category::Aggregation, "NumericCount", Yes),
    (Category::Aggregation, "MissingCount", Yes),
    (Category::Aggregation, "Avg", Yes),
    (Category::Aggregation, "Median", Yes),
    (Category::Aggregation, "Fractile", Yes),
    (Category::Aggregation, "Stdev", Yes),
    (Category::Aggregation, "FractileExc", Yes),
    (Category::Aggregation, "Correl", Yes),
    (Category::Aggregation, "Kurtosis", Yes),
    (Category::Aggregation, "Skew", Yes),
    (Category::Aggregation, "Sterr", Yes),
    (Category::Aggregation, "STEYX", Yes),
    (Category::Aggregation, "LINEST_B", No(NOT_YET)),
    (Category::Aggregation, "LINEST_DF", No(NOT_YET)),
    (Category::Aggregation, "LINEST_F", No(NOT_YET)),
    (Category::Aggregation, "LINEST_M", No(NOT_YET)),
    (Category::Aggregation, "LINEST_R2", No(NOT_YET)),
    (Category::Aggregation, "LINEST_SEB", No(NOT_YET)),
    (Category::Aggregation, "LINEST_SEM", No(NOT_YET)),
    (Category::Aggregation, "LINEST_SEY", No(NOT_YET)),
    (Category::Aggregation, "LINEST_SSREG", No(NOT_YET)),
    (Category::Aggregation, "LINEST_SSRESID", No(NOT_YET)),
    (Category::Aggregation, "IRR", Yes),
    (Category::Aggregation, "NPV", Yes),
    (Category::Aggregation, "XIRR", Yes),
    (Category::Aggregation, "XNPV", Yes),
    (Category::Aggregation, "Chi2Test_chi2", No(NOT_YET)),
    (Category::Aggregation, "Chi2Test_df", No(NOT_YET)),
    (Category::Aggregation, "Chi2Test_p", No(NOT_YET)),
    (Category::Aggregation, "TTest_conf", No(NOT_YET)),
    (Category::Aggregation, "TTest_df", No(NOT_YET)),
    (Category::Aggregation, "TTest_dif", No(NOT_YET)),
    (Category::Aggregation, "TTest_lower", No(NOT_YET)),
    (Category::Aggregation, "TTest_sig", No(NOT_YET)),
    (Category::Aggregation, "TTest_sterr", No(NOT_YET)),
    (Category::Aggregation, "TTest_t", No(NOT_YET)),
    (Category::Aggregation, "TTest_upper", No(NOT_YET)),
    (Category::Aggregation, "TTestw_conf", No(NOT_YET)),
    (Category::Aggregation, "TTestw_df", No(NOT_YET)),
    (Category::Aggregation, "TTestw_dif", No(NOT_YET)),
    (Category::Aggregation, "TTestw_lower", No(NOT_YET)),
    (Category::Aggregation, "TTestw_sig", No(NOT_YET)),
    (Category::Aggregation, "TTestw_sterr", No(NOT_YET)),
    (Category::Aggregation, "TTestw_t", No(NOT_YET)),
    (Category::Aggregation, "TTestw_upper", No(NOT_YET)),
    (Category::Aggregation, "TTest1_conf", No(NOT_YET)),
    (Category::Aggregation, "TTest1_df", No(NOT_YET)),
    (Category::Aggregation, "TTest1_dif", No(NOT_YET)),
    (Category::Aggregation, "TTest1_lower", No(NOT_YET)),
    (Category::Aggregation, "TTest1_sig", No(NOT_YET)),
    (Category::Aggregation, "TTest1_sterr", No(NOT_YET)),
    (Category::Aggregation, "TTest1_t", No(NOT_YET)),
    (Category::Aggregation, "TTest1_upper", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_conf", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_df", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_dif", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_lower", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_sig", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_sterr", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_t", No(NOT_YET)),
    (Category::Aggregation, "TTest1w_upper", No(NOT_YET)),
    (Category::Aggregation, "ZTest_conf", No(NOT_YET)),
    (Category::Aggregation, "ZTest_dif", No(NOT_YET)),
    (Category::Aggregation, "ZTest_lower", No(NOT_YET)),
    (Category::Aggregation, "ZTest_sig", No(NOT_YET)),
    (Category::Aggregation, "ZTest_sterr", No(NOT_YET)),
    (Category::Aggregation, "ZTest_upper", No(NOT_YET)),
    (Category::Aggregation, "ZTest_z", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_conf", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_dif", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_lower", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_sig", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_sterr", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_upper", No(NOT_YET)),
    (Category::Aggregation, "ZTestw_z", No(NOT_YET)),
    (Category::Color, "ARGB", Yes),
    (Category::Color, "RGB", Yes),
    (Category::Color, "HSL", No(NOT_YET)),
    (Category::Color, "Color", No(NOT_YET)),
    (Category::Color, "Colormix1", Yes),
    (Category::Color, "Colormix2", Yes),
    (Category::Color, "SysColor", No(SERVER)),
    (Category::Color, "ColorMapHue", No(NOT_YET)),
    (Category::Color, "ColorMapJet", No(NOT_YET)),
    (Category::Color, "Black", Yes),
    (Category::Color, "Blue", Yes),
    (Category::Color, "Brown", Yes),
    (Category::Color, "Cyan", Yes),
    (Category::Color, "DarkGray", Yes),
    (Category::Color, "Green", Yes),
    (Category::Color, "LightBlue", Yes),
    (Category::Color, "LightCyan", Yes),
    (Category::Color, "LightGray", Yes),
    (Category::Color, "LightGreen", Yes),
    (Category::Color, "LightMagenta", Yes),
    (Category::Color, "LightRed", Yes),
    (Category::Color, "Magenta", Yes),
    (Category::Color, "Red", Yes),
    (Category::Color, "White", Yes),
    (Category::Color, "Yellow", Yes),
    (Category::Color, "QlikTechBlue", Yes),
    (Category::Color, "QlikTechGray", Yes),
    (Category::Conditional, "Alt", Yes),
    (Category::Conditional, "Coalesce", Yes),
    (Category::Conditional, "If", Yes),
    (Category::Conditional, "Match", Yes),
    (Category::Conditional, "MixMatch", Yes),
    (Category::Conditional, "Pick", Yes),
    (Category::Conditional, "WildMatch", Yes),
    (Category::Conditional, "Class", Yes),
    (Category::Counter, "AutoNumber", Yes),
    (Category::Counter, "AutoNumberHash128", Yes),
    (Category::Counter, "AutoNumberHash256", Yes),
    (Category::Counter, "IterNo", Yes),
    (Category::Counter, "RecNo", Yes),
    (Category::Counter, "RowNo", Yes),
    (Category::DateTime, "Age", Yes),
    (Category::DateTime, "AddMonths", Yes),
    (Category::DateTime, "AddYears", Yes),
    (Category::DateTime, "ConvertToLocalTime", No(TIME_ZONE)),
    (Category::DateTime, "Day", Yes),
    (Category::DateTime, "DayEnd", Yes),
    (Category::DateTime, "DayLightSaving", No(TIME_ZONE)),
    (Category::DateTime, "DayName", Yes),
    (Category::DateTime, "DayNumberOfQuarter", Yes),
    (Category::DateTime, "DayNumberOfYear", Yes),
    (Category::DateTime, "DayStart", Yes),
    (Category::DateTime, "FirstWorkDate", Yes),
    (Category::DateTime, "GMT", No(CLOCK)),
    (Category::DateTime, "Hour", Yes),
    (Category::DateTime, "InDay", Yes),
    (Category::DateTime, "InDayToDate", Yes),
    (Category::DateTime, "InLunarWeek", Yes),
    (Category::DateTime, "InLunarWeekToDate", Yes),
    (Category::DateTime, "InMonth", Yes),
    (Category::DateTime, "InMonths", Yes),
    (Category::DateTime, "InMonthsToDate", Yes),
    (Category::DateTime, "InMonthToDate", Yes),
    (Category::DateTime, "InQuarter", Yes),
    (Category::DateTime, "InQuarterToDate", Yes),
    (Category::DateTime, "InWeek", Yes),
    (Category::DateTime, "InWeekToDate", Yes),
    (Category::DateTime, "InYear", Yes),
    (Category::DateTime, "InYearToDate", Yes),
    (Category::DateTime, "LastWorkDate", Yes),
    (Category::DateTime, "LocalTime", No(CLOCK)),
    (Category::DateTime, "LunarWeekEnd", Yes),
    (Category::DateTime, "LunarWeekName", Yes),
    (Category::DateTime, "LunarWeekStart", Yes),
    (Category::DateTime, "MakeDate", Yes),
    (Category::DateTime, "MakeTime", Yes),
    (Category::DateTime, "MakeWeekDate", Yes),
    (Category::DateTime, "Minute", Yes),
    (Category::DateTime, "Month", Yes),
    (Category::DateTime, "MonthEnd", Yes),
    (Category::DateTime, "MonthName", Yes),
    (Category::DateTime, "MonthsEnd", Yes),
    (Category::DateTime, "MonthsName", Yes),
    (Category::DateTime, "MonthsStart", Yes),
    (Category::DateTime, "MonthStart", Yes),
    (Category::DateTime, "NetWorkDays", Yes),
    (Category::DateTime, "Now", No(CLOCK)),
    (Category::DateTime, "QuarterEnd", Yes),
    (Category::DateTime, "QuarterName", Yes),
    (Category::DateTime, "QuarterStart", Yes),
    (Category::DateTime, "Second", Yes),
    (Category::DateTime, "SetDateYear", Yes),
    (Category::DateTime, "SetDateYearMonth", Yes),
    (Category::DateTime, "TimeZone", No(TIME_ZONE)),
    (Category::DateTime, "Today", No(CLOCK)),
    (Category::DateTime, "UTC", No(CLOCK)),
    (Category::DateTime, "Week", Yes),
    (Category::DateTime, "WeekDay", Yes),
    (Category::DateTime, "WeekEnd", Yes),
    (Category::DateTime, "WeekName", Yes),
    (Category::DateTime, "WeekStart", Yes),
    (Category::DateTime, "WeekYear", Yes),
    (Category::DateTime, "Year", Yes),
    (Category::DateTime, "YearEnd", Yes),
    (Category::DateTime, "YearName", Yes),
    (Category::DateTime, "YearStart", Yes),
    (Category::DateTime, "YearToDate", No(CLOCK)),
    (Category::Exponential, "Exp", Yes),
    (Category::Exponential, "Log", Yes),
    (Category::Exponential, "Log10", Yes),
    (Category::Exponential, "Pow", Yes),
    (Category::Exponential, "Sqr", Yes),
    (Category::Exponential, "Sqrt", Yes),
    (Category::File, "Attribute", No(NOT_YET)),
    (Category::File, "ConnectString", No(CONNECTION)),
    (Category::File, "FileBaseName", Yes),
    (Category::File, "FileDir", Yes),
    (Category::File, "FileExtension", Yes),
    (Category::File, "FileName", Yes),
    (Category::File, "FilePath", Yes),
    (Category::File, "FileSize", Yes),
    (Category::File, "FileTime", No(FILE_TIME)),
    (Category::File, "GetFolderPath", No(SERVER)),
    (Category::File, "QvdCreateTime", Yes),
    (Category::File, "QvdFieldName", Yes),
    (Category::File, "QvdNoOfFields", Yes),
    (Category::File, "QvdNoOfRecords", Yes),
    (Category::File, "QvdTableName", Yes),
    (Category::Financial, "BlackAndSchole", No(NOT_YET)),
    (Category::Financial, "FV", Yes),
    (Category::Financial, "nPer", Yes),
    (Category::Financial, "Pmt", Yes),
    (Category::Financial, "PV", Yes),
    (Category::Financial, "Rate", No(NOT_YET)),
    (Category::Formatting, "ApplyCodepage", No(NOT_YET)),
    (Category::Formatting, "Date", Yes),
    (Category::Formatting, "Dual", Yes),
    (Category::Formatting, "Interval", Yes),
    (Category::Formatting, "Money", Yes),
    (Category::Formatting, "Num", Yes),
    (Category::Formatting, "Time", Yes),
    (Category::Formatting, "Timestamp", Yes),
    (Category::GeneralNumeric, "BitCount", Yes),
    (Category::GeneralNumeric, "Ceil", Yes),
    (Category::GeneralNumeric, "Combin", Yes),
    (Category::GeneralNumeric, "Div", Yes),
    (Category::GeneralNumeric, "Even", Yes),
    (Category::GeneralNumeric, "Fabs", Yes),
    (Category::GeneralNumeric, "Fact", Yes),
    (Category::GeneralNumeric, "Floor", Yes),
    (Category::GeneralNumeric, "Fmod", Yes),
    (Category::GeneralNumeric, "Frac", Yes),
    (Category::GeneralNumeric, "Mod", Yes),
    (Category::GeneralNumeric, "Odd", Yes),
    (Category::GeneralNumeric, "Permut", Yes),
    (Category::GeneralNumeric, "Round", Yes),
    (Category::GeneralNumeric, "Sign", Yes),
    (Category::Geospatial, "GeoAggrGeometry", No(GEO)),
    (Category::Geospatial, "GeoBoundingBox", No(GEO)),
    (Category::Geospatial, "GeoCountVertex", No(GEO)),
    (Category::Geospatial, "GeoGetBoundingBox", No(GEO)),
    (Category::Geospatial, "GeoGetPolygonCenter", No(GEO)),
    (Category::Geospatial, "GeoInvProjectGeometry", No(GEO)),
    (Category::Geospatial, "GeoMakePoint", No(GEO)),
    (Category::Geospatial, "GeoProject", No(GEO)),
    (Category::Geospatial, "GeoProjectGeometry", No(GEO)),
    (Category::Geospatial, "GeoReduceGeometry", No(GEO)),
    (Category::Interpretation, "Date#", Yes),
    (Category::Interpretation, "Interval#", Yes),
    (Category::Interpretation, "Money#", Yes),
    (Category::Interpretation, "Num#", Yes),
    (Category::Interpretation, "Text", Yes),
    (Category::Interpretation, "Time#", Yes),
    (Category::Interpretation, "Timestamp#", Yes),
    (Category::InterRecord, "Exists", Yes),
    (Category::InterRecord, "FieldIndex", Yes),
    (Category::InterRecord, "FieldValue", Yes),
    (Category::InterRecord, "FieldValueCount", Yes),
    (Category::InterRecord, "LookUp", Yes),
    (Category::InterRecord, "Peek", Yes),
    (Category::InterRecord, "Previous", Yes),
    (Category::Logical, "IsNum", Yes),
    (Category::Logical, "IsText", Yes),
    (Category::Logical, "IsPartialReload", Yes),
    (Category::Mapping, "ApplyMap", Yes),
    (Category::Mapping, "MapSubstring", Yes),
    (Category::Mathematical, "E", Yes),
    (Category::Mathematical, "False", Yes),
    (Category::Mathematical, "Pi", Yes),
    (Category::Mathematical, "Rand", No(RANDOM)),
    (Category::Mathematical, "True", Yes),
    (Category::Null, "EmptyIsNull", Yes),
    (Category::Null, "IsNull", Yes),
    (Category::Null, "Null", Yes),
    (Category::Range, "RangeAvg", Yes),
    (Category::Range, "RangeCorrel", Yes),
    (Category::Range, "RangeCount", Yes),
    (Category::Range, "RangeFractile", Yes),
    (Category::Range, "RangeFractileExc", Yes),
    (Category::Range, "RangeIRR", Yes),
    (Category::Range, "RangeKurtosis", Yes),
    (Category::Range, "RangeMax", Yes),
    (Category::Range, "RangeMaxString", Yes),
    (Category::Range, "RangeMin", Yes),
    (Category::Range, "RangeMinString", Yes),
    (Category::Range, "RangeMissingCount", Yes),
    (Category::Range, "RangeMode", Yes),
    (Category::Range, "RangeNPV", Yes),
    (Category::Range, "RangeNullCount", Yes),
    (Category::Range, "RangeNumericCount", Yes),
    (Category::Range, "RangeOnly", Yes),
    (Category::Range, "RangeSkew", Yes),
    (Category::Range, "RangeStdev", Yes),
    (Category::Range, "RangeSum", Yes),
    (Category::Range, "RangeTextCount", Yes),
    (Category::Range, "RangeXIRR", Yes),
    (Category::Range, "RangeXNPV", Yes),
    (Category::StatDistribution, "BetaDensity", No(NOT_YET)),
    (Category::StatDistribution, "BetaDist", No(NOT_YET)),
    (Category::StatDistribution, "BetaInv", No(NOT_YET)),
    (Category::StatDistribution, "BinomDist", No(NOT_YET)),
    (Category::StatDistribution, "BinomFrequency", No(NOT_YET)),
    (Category::StatDistribution, "BinomInv", No(NOT_YET)),
    (Category::StatDistribution, "ChiDensity", No(NOT_YET)),
    (Category::StatDistribution, "ChiDist", No(NOT_YET)),
    (Category::StatDistribution, "ChiInv", No(NOT_YET)),
    (Category::StatDistribution, "FDensity", No(NOT_YET)),
    (Category::StatDistribution, "FDist", No(NOT_YET)),
    (Category::StatDistribution, "FInv", No(NOT_YET)),
    (Category::StatDistribution, "GammaDensity", No(NOT_YET)),
    (Category::StatDistribution, "GammaDist", No(NOT_YET)),
    (Category::StatDistribution, "GammaInv", No(NOT_YET)),
    (Category::StatDistribution, "LogNormDist", No(NOT_YET)),
    (Category::StatDistribution, "LogNormInv", No(NOT_YET)),
    (Category::StatDistribution, "NormDist", No(NOT_YET)),
    (Category::StatDistribution, "NormInv", No(NOT_YET)),
    (Category::StatDistribution, "PoissonDist", No(NOT_YET)),
    (Category::StatDistribution, "PoissonFrequency", No(NOT_YET)),
    (Category::StatDistribution, "PoissonInv", No(NOT_YET)),
    (Category::StatDistribution, "TDensity", No(NOT_YET)),
    (Category::StatDistribution, "TDist", No(NOT_YET)),
    (Category::StatDistribution, "TInv", No(NOT_YET)),
    (Category::String, "Capitalize", Yes),
    (Category::String, "Chr", Yes),
    (Category::String, "Evaluate", Yes),
    (Category::String, "FindOneOf", Yes),
    (Category::String, "Hash128", Yes),
    (Category::String, "Hash160", Yes),
    (Category::String, "Hash256", Yes),
    (Category::String, "Index", Yes),
    (Category::String, "IsJson", No(NOT_YET)),
    (Category::String, "JsonGet", No(NOT_YET)),
    (Category::String, "JsonSet", No(NOT_YET)),
    (Category::String, "KeepChar", Yes),
    (Category::String, "Left", Yes),
    (Category::String, "Len", Yes),
    (Category::String, "LevenshteinDist", Yes),
    (Category::String, "Lower", Yes),
    (Category::String, "LTrim", Yes),
    (Category::String, "Mid", Yes),
    (Category::String, "Ord", Yes),
    (Category::String, "PurgeChar", Yes),
    (Category::String, "Repeat", Yes),
    (Category::String, "Replace", Yes),
    (Category::String, "Right", Yes),
    (Category::String, "RTrim", Yes),
    (Category::String, "SubField", Yes),
    (Category::String, "SubStringCount", Yes),
    (Category::String, "TextBetween", Yes),
    (Category::String, "Trim", Yes),
    (Category::String, "Upper", Yes),
    (Category::System, "Author", No(SERVER)),
    (Category::System, "ClientPlatform", No(SERVER)),
    (Category::System, "ComputerName", No(SERVER)),
    (Category::System, "DocumentName", Yes),
    (Category::System, "DocumentPath", No(SERVER)),
    (Category::System, "DocumentTitle", No(SERVER)),
    (Category::System, "EngineVersion", No(SERVER)),
    (Category::System, "GetCollationLocale", No(SERVER)),
    (Category::System, "GetRegistryString", No(SERVER)),
    (Category::System, "OSUser", No(SERVER)),
    (Category::System, "ProductVersion", No(SERVER)),
    (Category::System, "ReloadTime", No(CLOCK)),
    (Category::Table, "FieldName", Yes),
    (Category::Table, "FieldNumber", Yes),
    (Category::Table, "NoOfFields", Yes),
    (Category::Table, "NoOfRows", Yes),
    (Category::Table, "NoOfTables", Yes),
    (Category::Table, "TableName", Yes),
    (Category::Table, "TableNumber", Yes),
    (Category::Trigonometric, "ACos", Yes),
    (Category::Trigonometric, "ASin", Yes),
    (Category::Trigonometric, "ATan", Yes),
    (Category::Trigonometric, "ATan2", Yes),
    (Category::Trigonometric, "Cos", Yes),
    (Category::Trigonometric, "CosH", Yes),
    (Category::Trigonometric, "Sin", Yes),
    (Category::Trigonometric, "SinH", Yes),
    (Category::Trigonometric, "Tan", Yes),
    (Category::Trigonometric, "TanH", Yes),
    (Category::Window, "Window", No(NOT_YET)),
    (Category::Window, "WRank", No(NOT_YET)),
];

/// The reason a function of Qlik's reference is not supported; `None`
/// for a supported function or a name Qlik does not have.
pub(super) fn unsupported(name: &str) -> Option<&'static str> {
    CATALOG.iter().find_map(|(_, n, s)| match s {
        No(reason) if n.eq_ignore_ascii_case(name) => Some(*reason),
        _ => None,
    })
}

/// Where Qlik's help leaves a point open, the reading taken.
#[cfg(test)]
const CHOICES: &str = "
Where the help pages leave a point open, the reading taken:

- `MonthEnd`, `QuarterEnd`, `YearEnd`, `WeekEnd` are the last millisecond of
  the period and show in `DateFormat` (the pages say so, though one example
  table shows a time); `DayStart`/`DayEnd` show in `TimestampFormat`.
- `MonthsName` and `QuarterName` show the year of the period's last month
  (`MonthsName(4, '10/19/2013', 0, 2)` is `Oct-Jan 2014` on its page).
- Without `FirstWeekDay`, `BrokenWeeks` and `ReferenceDay`, weeks are ISO
  weeks (Monday, unbroken, January 4), the defaults the pages give;
  `WeekDay` without its second argument uses `FirstWeekDay`.
- `AutoNumber` without an AutoID shares one counter with every other such
  call of the run; `AutoNumberHash128` and `AutoNumberHash256` each keep one
  counter over the combination of their arguments.
- `NoOfTables`, `TableName` and `TableNumber` count the security tables
  first, then the application tables, each in the order they were made.
- `Money`, `FV`, `PV`, `Pmt`, `NPV`, `XNPV`, `RangeNPV` and `RangeXNPV` show
  in `MoneyFormat` (`$#,##0.00;-$#,##0.00` when the script sets none).
- In `RangeNPV` and `RangeIRR` an argument that is not a number keeps its
  period (the help's `RangeIRR(-2000, NULL, 7000)` is 0.8708); the `NPV` and
  `IRR` aggregations skip such rows. `IRR` and `XIRR` solve by Newton's
  method, so the last digits may differ from Qlik's.
- `Skew`, `Kurtosis`, `Fractile`, `FractileExc`, `Stdev` and the annuity
  functions compute as Excel does, which the pages' examples match.
- `Evaluate` reads its text as an expression over the script's variables,
  as `LET` would; a text that is no expression gives NULL.
- A color's text is `RGB(r,g,b)`, or `ARGB(a,r,g,b)` when it has an alpha
  argument or comes from `Colormix1`/`Colormix2` (mixed parts rounded).
- A date, count or shift beyond 10 million days gives NULL.
";

/// `docs/functions.md`: the catalog as tables, one per category.
#[cfg(test)]
fn markdown() -> String {
    use std::fmt::Write as _;
    let total = CATALOG.len();
    let yes = CATALOG.iter().filter(|(_, _, s)| *s == Yes).count();
    let mut out = String::from("# Script functions\n\n");
    out.push_str(
        "Every function of Qlik's script function reference, by category, and whether\n\
         `section-access` evaluates it. A supported function follows Qlik's help page\n\
         (its examples are the fixtures under `fixtures/scripts/run/functions*`); an\n\
         unsupported one stops the run with a located `load::unsupported` error that\n\
         gives the reason below.\n\n\
         Generated from `src/load/expr/functions/catalog.rs` (do not edit by hand:\n\
         `BLESS=1 cargo test --lib catalog` rewrites it).\n\n",
    );
    let _ = writeln!(out, "Supported: {yes} of {total}.");
    out.push_str(CHOICES);
    let mut current = None;
    for &(category, name, status) in CATALOG {
        if current != Some(category) {
            current = Some(category);
            let _ = write!(
                out,
                "\n## {}\n\n| Function | Offline |\n| --- | --- |\n",
                category.title()
            );
        }
        let cell = match status {
            Yes => String::from("supported"),
            No(reason) => format!("unsupported: {reason}"),
        };
        let _ = writeln!(out, "| `{name}` | {cell} |");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::error::LoadErrorKind;
    use crate::load::expr::{Binding, compile};
    use crate::script::parse_expr;
    use crate::script::source::SourceId;

    #[test]
    fn catalog_docs_are_generated() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/functions.md");
        let text = markdown();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(path, &text).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == text,
            "docs/functions.md is stale: run `BLESS=1 cargo test --lib catalog`"
        );
    }

    #[test]
    fn catalog_matches_the_function_table() {
        for &(_, name, status) in CATALOG {
            let known = super::super::lookup_function(name).is_some();
            assert_eq!(known, status == Yes, "`{name}`: catalog says {status:?}");
        }
        // Every supported function is in the catalog, once.
        for name in super::super::names() {
            let n = CATALOG
                .iter()
                .filter(|(_, c, _)| c.eq_ignore_ascii_case(name))
                .count();
            assert_eq!(n, 1, "`{name}` is in the catalog {n} times");
        }
    }

    #[test]
    fn unsupported_functions_fail_with_their_reason() {
        for &(_, name, status) in CATALOG {
            let No(reason) = status else { continue };
            let e = parse_expr(SourceId::default(), &format!("{name}(1)")).unwrap();
            let err = compile(&e, Binding::Vars, &mut false).unwrap_err();
            assert_eq!(err.kind, LoadErrorKind::Unsupported, "`{name}`");
            assert!(err.message.contains(name), "`{name}`: {}", err.message);
            assert_eq!(err.help.as_deref(), Some(reason), "`{name}`");
        }
    }
}
